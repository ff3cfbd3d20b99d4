// Package analytics answers questions about a shop's events: how many of
// each type, and (as it grows) revenue, funnels, sessions and retention.
//
// # Generic and pushed down
//
// Every function has one generic implementation that streams
// store.Store.Events, so any backend answers every question. When a store
// offers an optional capability for the question (store.TypeCounter for
// Counts), the work is pushed down to it, and the answer must be identical:
// tests compare both paths on the same data.
package analytics
