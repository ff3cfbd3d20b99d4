package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/integrations/shopify"
	"github.com/shoplytics/shoplytics/internal/serve"
	"github.com/shoplytics/shoplytics/store"
)

// shopifySync is what the -shopify-* flags ask for.
type shopifySync struct {
	shop, token, apiURL, version string
	full                         bool
}

// runShopifySync runs the historical sync of one shop into st and
// returns: the events go through an ingester, the cursor is kept in the
// store when it keeps checkpoints (so a sync stopped by SIGINT or a crash
// resumes where it was), and a progress line is printed after each page.
func runShopifySync(ctx context.Context, st store.Store, keys serve.Keys, o shopifySync, log *slog.Logger, out io.Writer) error {
	found, domain := false, ""
	for _, s := range keys.Shops {
		if s.ID == o.shop {
			found, domain = true, s.ShopifyDomain
		}
	}
	if !found {
		return fmt.Errorf("-shopify-sync: no shop %q in the configuration", o.shop)
	}
	if o.token == "" {
		o.token = os.Getenv("SHOPLYTICS_SHOPIFY_TOKEN")
	}
	if o.token == "" {
		return errors.New("-shopify-sync: an Admin API access token is required: -shopify-token or SHOPLYTICS_SHOPIFY_TOKEN")
	}
	if domain == "" && o.apiURL == "" {
		return fmt.Errorf("-shopify-sync: shop %q has no shopify_domain in the configuration, and -shopify-api is not set", o.shop)
	}
	in, err := ingest.New(st, ingest.Options{Logger: log})
	if err != nil {
		return err
	}
	in.Start()
	opts := shopify.SyncOptions{ShopID: o.shop, Domain: domain, BaseURL: o.apiURL, AccessToken: o.token,
		APIVersion: o.version, Full: o.full, Logger: log,
		Progress: func(p shopify.Progress) { fmt.Fprintln(out, p.String()) }}
	if k, ok := st.(store.CheckpointKeeper); ok {
		opts.Checkpoints = k
	} else {
		log.Warn("the store keeps no checkpoints: a sync that stops starts over", "shop", o.shop)
	}
	res, syncErr := shopify.Sync(ctx, in, opts)
	shutdown, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := in.Shutdown(shutdown); err != nil && syncErr == nil {
		syncErr = err
	}
	log.Info("shopify sync finished", "shop", o.shop, "orders", res.Orders, "events", res.Events, "skipped", res.Skipped,
		"pages", res.Pages, "resumed", res.Resumed, "throttled", res.Throttled, "retries", res.Retries)
	return syncErr
}
