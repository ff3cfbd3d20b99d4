package chart

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-analyze/charts"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/tracking"
)

// Options size a chart and may replace its title. The zero value is a
// chart of DefaultWidth × DefaultHeight with the title the data suggests.
type Options struct {
	// Width and Height are the size in pixels the chart is meant to be
	// shown at (default DefaultWidth, DefaultHeight); each must lie
	// within [MinWidth, MaxWidth] and [MinHeight, MaxHeight].
	Width, Height int
	// Title replaces the default title ("Events per day", "Funnel by
	// session"); Subtitle the default subtitle (the zone, the range).
	Title, Subtitle string
}

// Size limits and defaults of Options.
const (
	DefaultWidth  = 800
	DefaultHeight = 320
	MinWidth      = 240
	MaxWidth      = 2400
	MinHeight     = 160
	MaxHeight     = 1600
)

// SizeError is an Options size outside its limits; Field is "width" or
// "height".
type SizeError struct {
	Field  string
	Reason string
}

func (e *SizeError) Error() string { return "chart: " + e.Field + ": " + e.Reason }

// EmptyText is what a chart of no data says.
const EmptyText = "No data in this range"

// The palette: text and axes dark on white, data marks in blue. Contrast
// on white: text 14.8:1, axis labels 8.8:1, series 6.7:1 (checked by
// TestColoursHaveEnoughContrast); grid lines are decoration.
var (
	colorText   = charts.ColorFromHex("1f2933")
	colorAxis   = charts.ColorFromHex("3e4c59")
	colorGrid   = charts.ColorFromHex("d9e2ec")
	colorSeries = charts.ColorFromHex("1d4ed8")
	colorWhite  = charts.ColorFromHex("ffffff")
)

var theme = charts.MakeTheme(charts.ThemeOption{
	AxisStrokeColor:    colorAxis,
	AxisSplitLineColor: colorGrid,
	BackgroundColor:    colorWhite,
	TextColor:          colorText,
	TextColorTitle:     colorText,
	TextColorLabel:     colorText,
	TextColorLegend:    colorText,
	TextColorXAxis:     colorAxis,
	TextColorYAxis:     colorAxis,
	SeriesColors:       []charts.Color{colorSeries},
})

func (o Options) size() (w, h int, err error) {
	w, h = o.Width, o.Height
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	if w < MinWidth || w > MaxWidth {
		return 0, 0, &SizeError{"width", fmt.Sprintf("must be %d to %d pixels", MinWidth, MaxWidth)}
	}
	if h < MinHeight || h > MaxHeight {
		return 0, 0, &SizeError{"height", fmt.Sprintf("must be %d to %d pixels", MinHeight, MaxHeight)}
	}
	return w, h, nil
}

func (o Options) titles(title, subtitle string) (string, string) {
	if o.Title != "" {
		title = o.Title
	}
	if o.Subtitle != "" {
		subtitle = o.Subtitle
	}
	return title, subtitle
}

func painter(w, h int) *charts.Painter {
	return charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: w, Height: h, Theme: theme})
}

func titleOption(title, subtitle string) charts.TitleOption {
	return charts.TitleOption{
		Text: title, Subtext: subtitle,
		// The library centres the lines on each other; centred on the
		// chart too, they look meant.
		Offset:           charts.OffsetStr{Left: charts.PositionCenter},
		FontStyle:        charts.FontStyle{FontSize: 15, FontColor: colorText},
		SubtextFontStyle: charts.FontStyle{FontSize: 12, FontColor: colorAxis},
	}
}

var (
	axisFont  = charts.FontStyle{FontSize: 12, FontColor: colorAxis}
	axisTitle = charts.FontStyle{FontSize: 12, FontColor: colorText}
)

// empty draws the title and EmptyText in the middle of the chart.
func empty(w, h int, title, subtitle string) ([]byte, error) {
	p := painter(w, h)
	p.FilledRect(0, 0, w, h, colorWhite, colorWhite, 0)
	p.Text(title, 20, 30, 0, charts.FontStyle{FontSize: 15, FontColor: colorText})
	if subtitle != "" {
		p.Text(subtitle, 20, 50, 0, charts.FontStyle{FontSize: 12, FontColor: colorAxis})
	}
	msg := charts.FontStyle{FontSize: 16, FontColor: colorAxis}
	box := p.MeasureText(EmptyText, 0, msg)
	p.Text(EmptyText, (w-box.Width())/2, h/2+box.Height()/2, 0, msg)
	return render(p)
}

func render(p *charts.Painter) ([]byte, error) {
	b, err := p.Bytes()
	if err != nil {
		return nil, fmt.Errorf("chart: render: %w", err)
	}
	return b, nil
}

// metricNames are what a metric is called in a title and on an axis.
var metricNames = map[analytics.Metric]string{
	analytics.MetricEvents:   "Events",
	analytics.MetricRevenue:  "Revenue",
	analytics.MetricOrders:   "Orders",
	analytics.MetricUsers:    "Users",
	analytics.MetricSessions: "Sessions",
}

// TimeSeries draws a time series as a line chart: the buckets along the
// x axis (labelled by date, or by hour for hour buckets), the metric up
// the y axis from zero. Revenue is drawn in the series' currency and says
// which.
func TimeSeries(res analytics.TimeSeriesResult, o Options) ([]byte, error) {
	w, h, err := o.size()
	if err != nil {
		return nil, err
	}
	name := metricNames[res.Metric]
	if name == "" {
		name = StepName(string(res.Metric))
	}
	yTitle := name
	if res.Metric == analytics.MetricRevenue && res.Currency != "" {
		yTitle = name + " (" + res.Currency + ")"
	}
	title, subtitle := o.titles(yTitle+" per "+string(res.Interval), timeSeriesSubtitle(res, w))
	values := make([]float64, len(res.Points))
	labels := make([]string, len(res.Points))
	var any bool
	digits := tracking.MinorDigits(res.Currency)
	for i, p := range res.Points {
		any = any || p.Value != 0
		values[i] = float64(p.Value)
		if res.Metric == analytics.MetricRevenue {
			// Drawing needs a position, not an amount: the exact figure
			// is in the JSON answer.
			values[i] /= math.Pow10(digits)
		}
		labels[i] = pointLabel(p, res.Interval)
	}
	if !any {
		return empty(w, h, title, subtitle)
	}

	opt := charts.NewLineChartOptionWithData([][]float64{values})
	opt.Theme = theme
	opt.Title = titleOption(title, subtitle)
	opt.Padding = charts.NewBox(20, 16, 24, 12)
	opt.XAxis.Labels = labels
	opt.XAxis.Title = xTitle(res.Interval, res.TZ)
	opt.XAxis.TitleFontStyle = axisTitle
	opt.XAxis.LabelFontStyle = axisFont
	opt.XAxis.LabelCount = max(2, min(len(labels), w/110))
	opt.XAxis.BoundaryGap = charts.Ptr(false)
	formatter := countFormatter
	if res.Metric == analytics.MetricRevenue {
		formatter = amountFormatter(digits)
	}
	opt.YAxis = []charts.YAxisOption{{
		Min: charts.Ptr(0.0), Title: yTitle, TitleFontStyle: axisTitle, LabelFontStyle: axisFont,
		ValueFormatter: formatter, LabelCount: max(3, min(7, h/55)),
	}}
	opt.ValueFormatter = formatter
	opt.Legend.Show = charts.Ptr(false)
	opt.LineStrokeWidth = 2
	opt.FillArea = charts.Ptr(true)
	opt.FillOpacity = 40
	if len(values) > 60 {
		opt.Symbol.Shape = charts.SymbolNone
	}
	p := painter(w, h)
	if err := p.LineChart(opt); err != nil {
		return nil, fmt.Errorf("chart: time series: %w", err)
	}
	return render(p)
}

// timeSeriesSubtitle names the range and the zone; a narrow chart has
// room for the zone only.
func timeSeriesSubtitle(res analytics.TimeSeriesResult, width int) string {
	if len(res.Points) == 0 || width < 480 {
		return "time zone " + res.TZ
	}
	first, last := res.Points[0].T, res.Points[len(res.Points)-1].T
	if res.Interval == analytics.Hour {
		first, last = hourText(first), hourText(last)
	}
	return first + " to " + last + " · time zone " + res.TZ
}

func hourText(t string) string {
	if tt, err := time.Parse(time.RFC3339, t); err == nil {
		return tt.Format("2006-01-02 15:04")
	}
	return t
}

func xTitle(iv analytics.Interval, tz string) string {
	switch iv {
	case analytics.Hour:
		return "Hour (" + tz + ")"
	case analytics.Week:
		return "Week starting"
	}
	return "Day"
}

// pointLabel is a bucket's x-axis label: "Nov 3" for days and weeks,
// "Nov 3 14:00" for hours.
func pointLabel(p analytics.Point, iv analytics.Interval) string {
	if iv == analytics.Hour {
		if t, err := time.Parse(time.RFC3339, p.T); err == nil {
			if t.Hour() == 0 {
				return t.Format("Jan 2")
			}
			return t.Format("15:04")
		}
		return p.T
	}
	if t, err := time.Parse(time.DateOnly, p.T); err == nil {
		return t.Format("Jan 2")
	}
	return p.T
}

// countFormatter writes axis values as whole numbers with separators,
// shortening large ones: 950, 12,500, 1.2M.
func countFormatter(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trimZero(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	case a >= 1e5:
		return trimZero(strconv.FormatFloat(v/1e3, 'f', 0, 64)) + "k"
	}
	return group(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
}

// amountFormatter writes axis values of money in a currency of digits
// minor-unit digits: whole units when they are large, else the currency's
// decimals (none for JPY: never a fraction of a yen).
func amountFormatter(digits int) func(float64) string {
	return func(v float64) string {
		if math.Abs(v) >= 100 || v == math.Trunc(v) || digits == 0 {
			return countFormatter(v)
		}
		return strconv.FormatFloat(v, 'f', digits, 64)
	}
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// group puts thousands separators in an integer's digits.
func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// StepName is how a funnel step is shown: "add_to_cart" → "Add to cart".
func StepName(eventType string) string {
	s := strings.ReplaceAll(eventType, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Funnel draws a funnel as horizontal bars, one per step from the top,
// each labelled with its count and its conversion from the first step.
func Funnel(res analytics.FunnelResult, o Options) ([]byte, error) {
	w, h, err := o.size()
	if err != nil {
		return nil, err
	}
	by := string(res.By)
	if by == "" {
		by = string(analytics.BySession)
	}
	title, subtitle := o.titles("Funnel by "+by, funnelSubtitle(res))
	n := len(res.Steps)
	if n == 0 || res.Steps[0].Count == 0 {
		return empty(w, h, title, o.Subtitle)
	}
	// A narrow chart has no room for a value axis, nor for percentages on
	// the bars: the counts on the bars say it all.
	narrow := w < 480
	// A horizontal bar chart draws its first category at the bottom; the
	// funnel reads from the top, so the steps go in reversed.
	values := make([]float64, n)
	names := make([]string, n)
	// The label formatter is given a bar's value, not its step; a count
	// names its step's label, as equal counts share their conversion.
	texts := make(map[float64]string, n)
	for i, st := range res.Steps {
		j := n - 1 - i
		values[j] = float64(st.Count)
		names[j] = StepName(st.EventName)
		texts[values[j]] = group(strconv.FormatInt(st.Count, 10))
		if !narrow {
			texts[values[j]] += " · " + trimZero(strconv.FormatFloat(st.ConversionFromStart, 'f', 1, 64)) + "%"
		}
	}
	rightPad := 110
	if narrow {
		rightPad = 56
	}
	series := charts.NewSeriesListBar([][]float64{values})
	series[0].Label = charts.SeriesLabel{
		Show:      charts.Ptr(true),
		FontStyle: charts.FontStyle{FontSize: 12, FontColor: colorText},
		LabelFormatter: func(_ int, _ string, v float64) (string, *charts.LabelStyle) {
			return texts[v], nil
		},
	}
	series[0].Name = "count"
	opt := charts.BarChartOption{
		Theme:      theme,
		Horizontal: true,
		SeriesList: series,
		Title:      titleOption(title, subtitle),
		// Room on the right for the label of the longest bar.
		Padding:             charts.NewBox(20, 16, rightPad, 12),
		SeriesLabelPosition: charts.PositionRight,
		CategoryAxis: charts.CategoryAxisOption{
			Labels: names, LabelFontStyle: charts.FontStyle{FontSize: 12, FontColor: colorText},
		},
		ValueAxis: []charts.ValueAxisOption{{
			Min: charts.Ptr(0.0), Title: countTitle(by), TitleFontStyle: axisTitle, LabelFontStyle: axisFont,
			ValueFormatter: countFormatter, LabelCount: max(2, min(6, (w-260)/70)), Show: charts.Ptr(!narrow),
		}},
		Legend:         charts.LegendOption{Show: charts.Ptr(false)},
		BarSize:        0.6,
		ValueFormatter: countFormatter,
	}
	p := painter(w, h)
	if err := p.BarChart(opt); err != nil {
		return nil, fmt.Errorf("chart: funnel: %w", err)
	}
	return render(p)
}

func countTitle(by string) string {
	if by == string(analytics.ByUser) {
		return "Users"
	}
	return "Sessions"
}

func funnelSubtitle(res analytics.FunnelResult) string {
	if len(res.Steps) == 0 {
		return ""
	}
	last := res.Steps[len(res.Steps)-1]
	s := strconv.FormatFloat(last.ConversionFromStart, 'f', 1, 64) + "% reach " + StepName(last.EventName)
	if res.Window > 0 {
		s += " within " + res.Window.String()
	}
	return s
}
