package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Insight is a finding of a rule about one shop, as an InsightKeeper keeps
// it (package insights makes them and documents the fields' meaning).
// Times have microsecond precision, as events' do.
type Insight struct {
	// ID is stable: derived from the rule, the shop, the subject and the
	// window it was found in, so two evaluators finding the same thing in
	// the same window name it alike.
	ID     string
	ShopID string
	Rule   string
	// Subject is what it is about, such as a product id or a currency; ""
	// for the shop as a whole.
	Subject string
	// Severity is info, warning or critical.
	Severity string
	Title    string
	Message  string
	// Evidence is a JSON object with the figures, window and thresholds.
	Evidence json.RawMessage
	// WindowStart and WindowEnd bound the events it was found in.
	WindowStart, WindowEnd time.Time
	CreatedAt              time.Time
	// ResolvedAt is when it stopped holding; zero while it holds.
	ResolvedAt time.Time
}

// Open reports whether the insight still holds.
func (in *Insight) Open() bool { return in.ResolvedAt.IsZero() }

// insightJSON is the read API's form of an insight.
type insightJSON struct {
	ID          string          `json:"id"`
	ShopID      string          `json:"shop_id"`
	Rule        string          `json:"rule"`
	Severity    string          `json:"severity"`
	Title       string          `json:"title"`
	Message     string          `json:"message"`
	Evidence    json.RawMessage `json:"evidence"`
	Subject     *string         `json:"subject"`
	WindowStart string          `json:"window_start"`
	WindowEnd   string          `json:"window_end"`
	CreatedAt   string          `json:"created_at"`
	ResolvedAt  *string         `json:"resolved_at"`
}

// MarshalJSON gives the read API's form: snake_case, RFC 3339 times,
// subject and resolved_at null when there is none.
func (in Insight) MarshalJSON() ([]byte, error) {
	j := insightJSON{ID: in.ID, ShopID: in.ShopID, Rule: in.Rule, Severity: in.Severity, Title: in.Title,
		Message: in.Message, Evidence: in.Evidence, WindowStart: rfc3339(in.WindowStart),
		WindowEnd: rfc3339(in.WindowEnd), CreatedAt: rfc3339(in.CreatedAt)}
	if len(j.Evidence) == 0 {
		j.Evidence = json.RawMessage("{}")
	}
	if in.Subject != "" {
		j.Subject = &in.Subject
	}
	if !in.ResolvedAt.IsZero() {
		r := rfc3339(in.ResolvedAt)
		j.ResolvedAt = &r
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (in *Insight) UnmarshalJSON(b []byte) error {
	var j insightJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Insight{ID: j.ID, ShopID: j.ShopID, Rule: j.Rule, Severity: j.Severity, Title: j.Title,
		Message: j.Message, Evidence: j.Evidence}
	if j.Subject != nil {
		out.Subject = *j.Subject
	}
	for _, f := range []struct {
		s   string
		dst *time.Time
	}{{j.WindowStart, &out.WindowStart}, {j.WindowEnd, &out.WindowEnd}, {j.CreatedAt, &out.CreatedAt}} {
		if f.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.s)
		if err != nil {
			return fmt.Errorf("insight: %w", err)
		}
		*f.dst = t
	}
	if j.ResolvedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *j.ResolvedAt)
		if err != nil {
			return fmt.Errorf("insight: resolved_at: %w", err)
		}
		out.ResolvedAt = t
	}
	*in = out
	return nil
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// InsightFilter selects insights. ShopID is required.
type InsightFilter struct {
	ShopID string
	// Rule, Subject and Severity, when set, must match exactly.
	Rule, Subject, Severity string
	// Since keeps the insights created at or after it, Until those
	// created before it; zero keeps all.
	Since, Until time.Time
	// IncludeResolved keeps resolved insights too; by default only those
	// that still hold.
	IncludeResolved bool
	// Limit caps the number of insights; 0 means no limit.
	Limit int
}

// Validate reports a malformed filter as an error wrapping ErrInvalid.
func (f *InsightFilter) Validate() error {
	if f.ShopID == "" {
		return invalid("insight filter: shop id is required")
	}
	if f.Limit < 0 {
		return invalid("insight filter: negative limit")
	}
	return nil
}

// Match reports whether in passes the filter: the reference semantics.
func (f *InsightFilter) Match(in *Insight) bool {
	return in.ShopID == f.ShopID && (f.Rule == "" || in.Rule == f.Rule) &&
		(f.Subject == "" || in.Subject == f.Subject) && (f.Severity == "" || in.Severity == f.Severity) &&
		(f.Since.IsZero() || !in.CreatedAt.Before(f.Since)) &&
		(f.Until.IsZero() || in.CreatedAt.Before(f.Until)) && (f.IncludeResolved || in.Open())
}

// InsightKeeper is a store that keeps insights, so that they, and the
// cooldowns they start, survive restarts and are shared by every process
// evaluating rules over the store. It is an optional capability: a store
// without it (or answering errors.ErrUnsupported) leaves insights to the
// memory of the process.
type InsightKeeper interface {
	// RaiseInsight stores in unless an insight with its ID is stored, or an
	// open insight of its shop, rule and subject, or one of them created at
	// or after quietSince (the rule's cooldown). It reports whether it
	// stored in. It is atomic: of evaluators raising the same finding at
	// once, in any number of processes, exactly one stores it.
	RaiseInsight(ctx context.Context, in Insight, quietSince time.Time) (bool, error)
	// ResolveInsight marks the open insight id of the shop resolved at at;
	// a resolved or unknown insight is left as it is.
	ResolveInsight(ctx context.Context, shopID, id string, at time.Time) error
	// Insights returns the insights f selects, newest first (by created
	// time, then id descending).
	Insights(ctx context.Context, f InsightFilter) ([]Insight, error)
}

// SortInsights orders insights newest first, ties by id descending: the
// order of InsightKeeper.Insights.
func SortInsights(list []Insight) {
	slices.SortFunc(list, func(a, b Insight) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
}

// MemoryInsights is an InsightKeeper in memory: the reference semantics,
// memstore's keeper, and where insights live when the store keeps none.
// The zero value is empty and ready; it is safe for concurrent use.
type MemoryInsights struct {
	mu   sync.Mutex
	list []Insight
}

// RaiseInsight implements InsightKeeper.
func (m *MemoryInsights) RaiseInsight(ctx context.Context, in Insight, quietSince time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if in.ShopID == "" || in.ID == "" || in.Rule == "" {
		return false, invalid("raise insight: shop id, id and rule are required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.list {
		x := &m.list[i]
		if x.ShopID != in.ShopID {
			continue
		}
		if x.ID == in.ID || x.Rule == in.Rule && x.Subject == in.Subject && (x.Open() || !x.CreatedAt.Before(quietSince)) {
			return false, nil
		}
	}
	in.Evidence = append(json.RawMessage(nil), in.Evidence...)
	m.list = append(m.list, in)
	return true, nil
}

// ResolveInsight implements InsightKeeper.
func (m *MemoryInsights) ResolveInsight(ctx context.Context, shopID, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.list {
		if x := &m.list[i]; x.ShopID == shopID && x.ID == id && x.Open() {
			x.ResolvedAt = at
		}
	}
	return nil
}

// Insights implements InsightKeeper.
func (m *MemoryInsights) Insights(ctx context.Context, f InsightFilter) ([]Insight, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	var out []Insight
	for i := range m.list {
		if f.Match(&m.list[i]) {
			x := m.list[i]
			x.Evidence = append(json.RawMessage(nil), x.Evidence...)
			out = append(out, x)
		}
	}
	m.mu.Unlock()
	SortInsights(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
