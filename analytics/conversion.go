package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// ConversionResult is the range's sessions and how many bought.
type ConversionResult struct {
	Sessions int64 `json:"sessions"`
	// Buying are the sessions with a purchase_completed.
	Buying int64 `json:"buying"`
	// Rate is Buying ÷ Sessions, Stats' conversion_rate.
	Rate float64 `json:"conversion_rate"`
}

// Conversion counts the range's sessions and those with a purchase, as
// Stats does (its sessions and conversion_rate), without what else Stats
// computes: sessions are cut from the events alone, so it needs no
// identify links and reads only the range, once.
func Conversion(ctx context.Context, s store.Store, q Query) (ConversionResult, error) {
	type state struct {
		last   time.Time
		buying bool
	}
	var r ConversionResult
	bySession := map[string]bool{} // session_id → bought
	devices := map[person]*state{} // the open session of a device without session ids
	for e, err := range s.Events(ctx, q.filter()) {
		if err != nil {
			return ConversionResult{}, fmt.Errorf("analytics: conversion: %w", err)
		}
		bought := e.Type == tracking.PurchaseCompleted
		if e.SessionID != "" {
			was, seen := bySession[e.SessionID]
			if !seen {
				r.Sessions++
			}
			if bought && !was {
				r.Buying++
			}
			bySession[e.SessionID] = was || bought
			continue
		}
		key := person{id: e.AnonymousID, anon: true}
		if e.AnonymousID == "" {
			key = person{id: e.UserID}
		}
		d := devices[key]
		if d == nil || e.Timestamp.Sub(d.last) >= SessionGap {
			d = &state{}
			devices[key] = d
			r.Sessions++
		}
		d.last = e.Timestamp
		if bought && !d.buying {
			d.buying = true
			r.Buying++
		}
	}
	r.Rate = percent(r.Buying, r.Sessions)
	return r, nil
}
