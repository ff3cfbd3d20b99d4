package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/internal/serve"
	"github.com/shoplytics/shoplytics/store"
)

// Demo traffic: a month of a small shop, enough for every chart, funnel
// and insight to show something, and quick to store.
const (
	demoDays     = 30
	demoVisitors = 400
	demoSeed     = 1
)

// seedDemo fills the demo shop with generated traffic (demoDays ending at
// now) when the store holds no event of it, so a first run has real
// numbers; a store holding any event of the shop, generated or real, is
// left alone, so a restart with -demo adds nothing. The shop's zone, when
// the configuration gives it one, sets the traffic's daily rhythm.
func seedDemo(ctx context.Context, st store.Store, keys serve.Keys, log *slog.Logger, now time.Time) error {
	shop := serve.DemoKeys.Shops[0].ID
	zone := time.UTC
	for _, s := range keys.Shops {
		if s.ID == shop && s.Timezone != "" {
			loc, err := time.LoadLocation(s.Timezone)
			if err != nil {
				return fmt.Errorf("-demo: %w", err)
			}
			zone = loc
		}
	}
	o := datagen.Options{ShopID: shop, Start: now.Add(-demoDays * 24 * time.Hour), Days: demoDays,
		Visitors: demoVisitors, Seed: demoSeed, Zone: zone, BatchSize: 1000}
	return serve.SeedDemo(ctx, st, o, log)
}
