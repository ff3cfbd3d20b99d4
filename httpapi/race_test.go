//go:build race

package httpapi

// raceEnabled says the race detector is on: it allocates on its own, so
// allocation counts mean nothing.
const raceEnabled = true
