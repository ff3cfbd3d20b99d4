package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shoplytics/shoplytics/insights"
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
//
// With replay set it then evaluates the insight rules through the flash
// sale, every 5 minutes, as the scheduler would have, so the insights list
// shows it from the first run (raised, then resolved).
func seedDemo(ctx context.Context, st store.Store, keys serve.Keys, log *slog.Logger, now time.Time, replay bool) error {
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
	seeded, err := serve.SeedDemo(ctx, st, o, log)
	if err != nil || !seeded || !replay {
		return err
	}
	start, ok := o.FlashSale()
	if !ok {
		return nil
	}
	rules, err := keys.Insights.RuleSet()
	if err != nil {
		return fmt.Errorf("-demo: %w", err)
	}
	eng, err := insights.NewEngine(st, insights.EngineOptions{Rules: rules, Logger: log})
	if err != nil {
		return fmt.Errorf("-demo: %w", err)
	}
	raised := 0
	for at := start.Add(-5 * time.Minute).Truncate(5 * time.Minute); !at.After(start.Add(45 * time.Minute)); at = at.Add(5 * time.Minute) {
		res, err := eng.EvaluateAt(ctx, shop, zone, at)
		if err != nil {
			return fmt.Errorf("-demo: insights: %w", err)
		}
		raised += len(res.Raised)
	}
	log.Info("demo insights replayed through the flash sale", "shop", shop, "flash_sale", start.UTC().Format(time.RFC3339), "raised", raised)
	return nil
}
