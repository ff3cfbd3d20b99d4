package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/insights"
)

// InsightsConfig is the "insights" object of a -config file:
//
//	"insights": {
//	  "rules": [{"name":"few_orders","metric":"orders","comparison":"<","threshold":3,"window":"2h"}],
//	  "disable": ["trending_product"],
//	  "interval": "5m",
//	  "webhook": {"url": "https://example.com/hooks/shoplytics", "secret": "…"}
//	}
//
// rules are threshold rules (insights.Threshold) added to the built-in
// ones, disable names built-in rules to leave out, interval is how often
// the scheduler evaluates every shop (default 5m), webhook where raised
// insights and daily reports are POSTed, signed with the secret.
type InsightsConfig struct {
	Rules    []insights.Threshold `json:"rules,omitempty"`
	Disable  []string             `json:"disable,omitempty"`
	Interval insights.Duration    `json:"interval,omitempty"`
	Webhook  *Webhook             `json:"webhook,omitempty"`
}

// Webhook is where notifications are POSTed and the secret that signs them.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// parseInsights decodes and checks the "insights" object strictly, naming
// the field at fault as insights.rules[2].comparison.
func parseInsights(raw json.RawMessage) (InsightsConfig, error) {
	var c InsightsConfig
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	var file struct {
		Rules    []json.RawMessage `json:"rules"`
		Disable  []string          `json:"disable"`
		Interval json.RawMessage   `json:"interval"`
		Webhook  json.RawMessage   `json:"webhook"`
	}
	if err := strictJSON(raw, &file); err != nil {
		return c, fmt.Errorf("insights: %w", err)
	}
	builtin := map[string]bool{}
	for _, r := range insights.Builtin() {
		builtin[r.Name()] = true
	}
	for i, name := range file.Disable {
		if !builtin[name] {
			return c, fmt.Errorf("insights.disable[%d]: %q is not a built-in rule", i, name)
		}
	}
	c.Disable = file.Disable
	names := map[string]int{}
	for i, r := range file.Rules {
		var th insights.Threshold
		if err := strictJSON(r, &th); err != nil {
			return c, fmt.Errorf("insights.rules[%d]: %w", i, err)
		}
		if _, err := th.Rule(); err != nil {
			var fe *insights.FieldError
			if errors.As(err, &fe) {
				return c, fmt.Errorf("insights.rules[%d].%s: %s", i, fe.Field, fe.Reason)
			}
			return c, fmt.Errorf("insights.rules[%d]: %w", i, err)
		}
		if builtin[th.Name] && !slices.Contains(c.Disable, th.Name) {
			return c, fmt.Errorf("insights.rules[%d].name: %q is a built-in rule (disable it to replace it)", i, th.Name)
		}
		if j, dup := names[th.Name]; dup {
			return c, fmt.Errorf("insights.rules[%d].name: %q is the name of rules[%d] too", i, th.Name, j)
		}
		names[th.Name] = i
		c.Rules = append(c.Rules, th)
	}
	if len(file.Interval) > 0 {
		if err := json.Unmarshal(file.Interval, &c.Interval); err != nil {
			return c, fmt.Errorf("insights.interval: %w", err)
		}
		if time.Duration(c.Interval) < time.Second {
			return c, errors.New("insights.interval: must be at least 1s")
		}
	}
	if len(file.Webhook) > 0 && string(file.Webhook) != "null" {
		var w Webhook
		if err := strictJSON(file.Webhook, &w); err != nil {
			return c, fmt.Errorf("insights.webhook: %w", err)
		}
		if _, err := insights.NewWebhookNotifier(insights.WebhookOptions{URL: w.URL, Secret: []byte(w.Secret)}); err != nil {
			// The URL is checked first: the secret is at fault only when
			// the URL alone passes.
			field := "url"
			if _, uerr := insights.NewWebhookNotifier(insights.WebhookOptions{URL: w.URL, Secret: []byte("-")}); uerr == nil {
				field = "secret"
			}
			return c, fmt.Errorf("insights.webhook.%s: %w", field, err)
		}
		c.Webhook = &w
	}
	return c, nil
}

// RuleSet is the rules the configuration asks for: the built-in ones not
// disabled, then the threshold rules.
func (c InsightsConfig) RuleSet() ([]insights.Rule, error) {
	var out []insights.Rule
	for _, r := range insights.Builtin() {
		if !slices.Contains(c.Disable, r.Name()) {
			out = append(out, r)
		}
	}
	for i, th := range c.Rules {
		r, err := th.Rule()
		if err != nil {
			return nil, fmt.Errorf("insights.rules[%d].%w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Notifier is where the scheduler's notifications go: the log, and the
// webhook when one is configured.
func (c InsightsConfig) Notifier(log insights.LogNotifier) (insights.Notifier, error) {
	if c.Webhook == nil {
		return log, nil
	}
	wh, err := insights.NewWebhookNotifier(insights.WebhookOptions{URL: c.Webhook.URL, Secret: []byte(c.Webhook.Secret)})
	if err != nil {
		return nil, err
	}
	return insights.Notifiers{log, wh}, nil
}

// insights makes the engine over the read store and the scheduler that
// runs it for every shop.
func (c *Config) insights(log *slog.Logger) (*insights.Engine, *insights.Scheduler, error) {
	rules, err := c.Keys.Insights.RuleSet()
	if err != nil {
		return nil, nil, err
	}
	eng, err := insights.NewEngine(c.ReadStore, insights.EngineOptions{Rules: rules, Now: c.InsightsClock, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	if len(c.Keys.Shops) == 0 {
		return eng, nil, nil
	}
	notifier, err := c.Keys.Insights.Notifier(insights.LogNotifier{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	shops := make([]insights.Shop, len(c.Keys.Shops))
	for i, s := range c.Keys.Shops {
		loc := time.UTC
		if s.Timezone != "" {
			if loc, err = time.LoadLocation(s.Timezone); err != nil {
				return nil, nil, fmt.Errorf("shops[%d].timezone: %w", i, err)
			}
		}
		shops[i] = insights.Shop{ID: s.ID, Location: loc}
	}
	sched, err := insights.NewScheduler(eng, insights.SchedulerOptions{Shops: shops, Interval: time.Duration(c.Keys.Insights.Interval),
		Notifier: notifier, ReportDir: c.ReportDir, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return eng, sched, nil
}
