// Package all links every store backend into a program, so store.Open
// understands every URL scheme ("memory", "sqlite", "postgres", "redis"):
//
//	import _ "github.com/shoplytics/shoplytics/store/all"
package all

import (
	_ "github.com/shoplytics/shoplytics/store/memstore"    // memory://
	_ "github.com/shoplytics/shoplytics/store/pgstore"     // postgres://, postgresql://
	_ "github.com/shoplytics/shoplytics/store/redisstore"  // redis://, rediss://
	_ "github.com/shoplytics/shoplytics/store/sqlitestore" // sqlite://
)
