package serve

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// SeedDemo stores the traffic o describes (internal/datagen) when the store
// holds no event of o.ShopID, so a first run of an example has real
// numbers; a store holding any event of the shop, generated or real, is
// left alone, so a restart with -demo adds nothing. It logs what it did and
// says whether it stored the traffic.
func SeedDemo(ctx context.Context, st store.Store, o datagen.Options, log *slog.Logger) (seeded bool, err error) {
	for _, err := range st.Events(ctx, store.Filter{ShopID: o.ShopID, Limit: 1}) {
		if err != nil {
			return false, fmt.Errorf("-demo: %w", err)
		}
		log.Info("demo data skipped: the store holds events of the shop already", "shop", o.ShopID)
		return false, nil
	}
	begun := time.Now()
	var stored, duplicates int
	err = datagen.Stream(o, func(batch []tracking.Event) error {
		r, err := st.Append(ctx, batch)
		stored += r.Inserted
		duplicates += r.Duplicates
		return err
	})
	if err != nil {
		return false, fmt.Errorf("-demo: %w", err)
	}
	log.Info("demo data stored", "shop", o.ShopID, "events", stored, "duplicate_sends", duplicates,
		"from", o.Start.UTC().Format(time.RFC3339), "days", o.Days, "took", time.Since(begun).Round(time.Millisecond))
	return true, nil
}
