package httpapi

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shoplytics/shoplytics/ingest"
)

// newMetrics returns the handler of GET /metrics: the ingester's counters
// and the process's (memory, goroutines, open files), in Prometheus text
// format, from a registry of its own (no global state, so two handlers in
// one process do not collide). Nothing in it is per shop.
func newMetrics(in *ingest.Ingester, segmentDropped *atomic.Uint64, shopify *shopifyCounts, hub *liveHub) http.Handler {
	reg := prometheus.NewRegistry()
	// The collectors of the prometheus package itself: its collectors
	// package, their newer home, links database/sql (for a DB stats
	// collector), which the core keeps out.
	reg.MustRegister(
		prometheus.NewGoCollector(),
		prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		ingesterCollector{in},
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "shoplytics_segment_dropped_messages_total",
			Help: "Segment messages dropped as invalid (the answer is 200 all the same: Segment's clients retry anything else for ever).",
		}, func() float64 { return float64(segmentDropped.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shoplytics_live_streams",
			Help: "Live feed streams (GET /api/live) open now.",
		}, func() float64 { return float64(hub.open.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "shoplytics_live_dropped_streams_total",
			Help: "Live feed streams ended because their client fell more than LiveBufferBytes behind.",
		}, func() float64 { return float64(hub.dropped.Load()) }),
	)
	for outcome, n := range map[string]*atomic.Uint64{"accepted": &shopify.accepted, "ignored": &shopify.ignored,
		"dropped": &shopify.dropped, "unauthorized": &shopify.unauthorized} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "shoplytics_shopify_webhooks_total",
			Help:        "Shopify webhooks by outcome: accepted as an event, ignored (a topic not mapped, an order voided unpaid), dropped (signed but not mappable; answered 200 all the same, as Shopify retries anything else), unauthorized (no or a wrong signature, or no secret).",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(n.Load()) }))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// ingesterCollector reads ingest.Stats at each scrape.
type ingesterCollector struct{ in *ingest.Ingester }

type ingestMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s *ingest.Stats) float64
}

func metric(name, help string, kind prometheus.ValueType, value func(s *ingest.Stats) float64) ingestMetric {
	return ingestMetric{desc: prometheus.NewDesc("shoplytics_ingest_"+name, help, nil, nil), kind: kind, value: value}
}

var ingestMetrics = []ingestMetric{
	metric("enqueued_events_total", "Events accepted for storage.", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.Enqueued) }),
	metric("stored_events_total", "Events the store inserted.", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.Stored) }),
	metric("duplicate_events_total", "Events the store had already.", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.Duplicates) }),
	metric("failed_events_total", "Events given up (invalid data; without a spool also a shutdown deadline).", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.Failed) }),
	metric("refused_events_total", "Events turned away because the queue or spool was full (answered 503).", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.Refused) }),
	metric("retries_total", "Failed store writes that were retried.", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.Retries) }),
	metric("batches_total", "Batches written or given up.", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.Batches) }),
	metric("queued_events", "Events waiting in memory for a batch.", prometheus.GaugeValue, func(s *ingest.Stats) float64 { return float64(s.Queued) }),
	metric("in_flight_events", "Events in batches being written.", prometheus.GaugeValue, func(s *ingest.Stats) float64 { return float64(s.InFlight) }),
	metric("spool_events", "Events in the spool not yet stored.", prometheus.GaugeValue, func(s *ingest.Stats) float64 { return float64(s.SpoolEvents) }),
	metric("spool_bytes", "Size of the spool's segment files.", prometheus.GaugeValue, func(s *ingest.Stats) float64 { return float64(s.SpoolBytes) }),
	metric("spool_syncs_total", "fsyncs of spool segments.", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.SpoolSyncs) }),
	metric("spool_corrupt_records_total", "Corrupt stretches skipped in the spool.", prometheus.CounterValue, func(s *ingest.Stats) float64 { return float64(s.SpoolCorrupt) }),
	metric("failing_seconds", "How long the store has failed the writes being retried (0 while writes succeed).", prometheus.GaugeValue, func(s *ingest.Stats) float64 {
		if s.FailingSince.IsZero() {
			return 0
		}
		return time.Since(s.FailingSince).Seconds()
	}),
}

func (c ingesterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range ingestMetrics {
		ch <- m.desc
	}
}

func (c ingesterCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.in.Stats()
	for _, m := range ingestMetrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s))
	}
}
