package insights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/store"
)

// Insight is a finding of a rule: what it is about, how bad, in words and
// in figures. It is the record an insight keeper stores (store.Insight);
// see there for the fields.
type Insight = store.Insight

// Severities.
const (
	// Info is worth knowing: sales are coming in, a product is trending.
	Info = "info"
	// Warning asks for a look: interest that does not convert, a drop.
	Warning = "warning"
	// Critical asks for action now: a flash crowd that is not buying.
	Critical = "critical"
)

// ValidSeverity reports whether s is info, warning or critical.
func ValidSeverity(s string) bool { return s == Info || s == Warning || s == Critical }

// InsightID is the stable id of a finding: derived from its rule, shop,
// subject and the start of the window it was found in, so that engines in
// several processes evaluating the same shop in the same window name it
// alike and the keeper stores it once.
func InsightID(rule, shopID, subject string, windowStart time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d", rule, shopID, subject, windowStart.UTC().UnixMicro())
	return "ins_" + hex.EncodeToString(h.Sum(nil)[:12])
}

// Env is what a rule evaluates against: one shop's events at one instant.
type Env struct {
	// Store holds the events; rules read it through package analytics.
	Store store.Store
	// ShopID is the shop evaluated.
	ShopID string
	// Now is the evaluation time: windows end at or before it.
	Now time.Time
	// Location is the shop's zone, for "today" and for the times in
	// messages (default UTC).
	Location *time.Location
}

func (e Env) loc() *time.Location {
	if e.Location == nil {
		return time.UTC
	}
	return e.Location
}

// query is the analytics question over [from, to) in the shop's zone.
func (e Env) query(from, to time.Time) analytics.Query {
	return analytics.Query{ShopID: e.ShopID, From: from, To: to, Location: e.loc()}
}

// Rule turns a shop's figures into insights. Evaluate returns the findings
// that hold at env.Now, at most one per subject; the engine gives them
// their id and creation time, raises the new ones and resolves those that
// no longer hold.
type Rule interface {
	// Name identifies the rule: lowercase snake_case, stable (it is in
	// stored insights and the read API's rule filter).
	Name() string
	// Description says in a sentence what the rule watches.
	Description() string
	Evaluate(ctx context.Context, env Env) ([]Insight, error)
}

// Cooldowner is a rule with a cooldown of its own: after it raised an
// insight about a subject, it raises none about the same subject for that
// long, even if the first was resolved meanwhile. Rules without it get
// EngineOptions.Cooldown.
type Cooldowner interface {
	Cooldown() time.Duration
}

// finding builds an insight of rule r with its evidence encoded; the
// window names the events it was found in.
func finding(env Env, rule, subject, severity string, from, to time.Time, title, message string, evidence any) (Insight, error) {
	b, err := json.Marshal(evidence)
	if err != nil {
		return Insight{}, fmt.Errorf("insights: %s: evidence: %w", rule, err)
	}
	return Insight{ShopID: env.ShopID, Rule: rule, Subject: subject, Severity: severity, Title: title,
		Message: message, Evidence: b, WindowStart: from.UTC(), WindowEnd: to.UTC()}, nil
}

// only is a rule's one finding, or finding's error, as Evaluate returns
// them: return only(finding(...)).
func only(in Insight, err error) ([]Insight, error) {
	if err != nil {
		return nil, err
	}
	return []Insight{in}, nil
}

// slideWindow is the window of length ending at the last multiple of
// slide (counted from the Unix epoch, so whole UTC hours and minutes) at or
// before now: every evaluation within one slide sees the same window.
func slideWindow(now time.Time, length, slide time.Duration) (from, to time.Time) {
	to = now.UTC().Truncate(slide)
	return to.Add(-length), to
}

// clock says t in words for messages: "14:05 Mon 2 Mar" in the zone.
func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("15:04 Mon 2 Jan MST")
}

// Window is the evidence of the range a finding covers.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func window(from, to time.Time) Window { return Window{Start: from.UTC(), End: to.UTC()} }
