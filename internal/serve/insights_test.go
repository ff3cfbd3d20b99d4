package serve

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store/memstore"
)

func loadConfig(t *testing.T, insightsJSON string) (Keys, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"shops":[{"id":"a","write_key":"w"}],"insights":`+insightsJSON+`}`), 0o600))
	return LoadKeys(path, nil)
}

func TestInsightsConfigRefusesMistakesNamingTheField(t *testing.T) {
	rule := `"name":"few","metric":"orders","comparison":"<","threshold":3,"window":"2h"`
	for _, tc := range []struct{ name, js, msg string }{
		{"unknown field", `{"rulez":[]}`, `insights: unknown field "rulez"`},
		{"unknown rule field", `{"rules":[{` + rule + `,"treshold":4}]}`, `insights.rules[0]: unknown field "treshold"`},
		{"bad comparison", `{"rules":[{"name":"x","metric":"orders","comparison":"=<","threshold":3,"window":"2h"}]}`, `insights.rules[0].comparison: "=<" is not`},
		{"bad window", `{"rules":[{"name":"x","metric":"orders","comparison":"<","threshold":3,"window":"soon"}]}`, `insights.rules[0]: "soon" is not a duration`},
		{"missing window", `{"rules":[{"name":"x","metric":"orders","comparison":"<","threshold":3}]}`, `insights.rules[0].window: is required`},
		{"bad metric", `{"rules":[{` + rule + `},{"name":"y","metric":"clicks","comparison":"<","threshold":3,"window":"1h"}]}`, `insights.rules[1].metric`},
		{"two rules, one name", `{"rules":[{` + rule + `},{` + rule + `}]}`, `insights.rules[1].name: "few" is the name of rules[0] too`},
		{"a built-in name", `{"rules":[{"name":"flash_sale","metric":"orders","comparison":"<","threshold":3,"window":"2h"}]}`, `insights.rules[0].name: "flash_sale" is a built-in rule`},
		{"disable unknown", `{"disable":["flash_sales"]}`, `insights.disable[0]: "flash_sales" is not a built-in rule`},
		{"short interval", `{"interval":"10ms"}`, `insights.interval: must be at least 1s`},
		{"webhook without secret", `{"webhook":{"url":"https://example.com/h"}}`, `insights.webhook.secret`},
		{"webhook bad url", `{"webhook":{"url":"example.com","secret":"s"}}`, `insights.webhook.url`},
		{"webhook bad url, no secret", `{"webhook":{"url":"example.com"}}`, `insights.webhook.url: insights: webhook: url "example.com"`},
		{"webhook unknown field", `{"webhook":{"url":"https://example.com/h","secret":"s","retries":3}}`, `insights.webhook: unknown field "retries"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(t, tc.js)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestInsightsConfigBuildsTheRuleSet(t *testing.T) {
	k, err := loadConfig(t, `{"rules":[{"name":"few_orders","metric":"orders","comparison":"<","threshold":3,"window":"2h","severity":"critical"},
		{"name":"flash_sale","metric":"events","type":"product_viewed","product_id":"p1","comparison":">=","threshold":50,"window":"10m"}],
		"disable":["trending_product","flash_sale"],"interval":"1m","webhook":{"url":"https://example.com/h","secret":"s"}}`)
	require.NoError(t, err)
	require.Equal(t, insights.Duration(time.Minute), k.Insights.Interval)
	rules, err := k.Insights.RuleSet()
	require.NoError(t, err)
	var names []string
	for _, r := range rules {
		names = append(names, r.Name())
	}
	require.Equal(t, []string{"high_interest_no_purchase", "cart_conversion", "cart_abandonment", "sales_pulse",
		"revenue_drop", "conversion_drop", "refund_spike", "few_orders", "flash_sale"}, names)
	_, err = insights.NewEngine(memstore.New(), insights.EngineOptions{Rules: rules})
	require.NoError(t, err, "the names are unique")
	n, err := k.Insights.Notifier(insights.LogNotifier{})
	require.NoError(t, err)
	require.IsType(t, insights.Notifiers{}, n)

	k, err = loadConfig(t, `null`)
	require.NoError(t, err)
	rules, err = k.Insights.RuleSet()
	require.NoError(t, err)
	require.Len(t, rules, len(insights.Builtin()))
}
