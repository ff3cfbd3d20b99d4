// Package chart draws shoplytics' analytics results as SVG, with the
// go-analyze/charts library: a time series as a line chart and a funnel as
// labelled horizontal bars. The dashboard's chart routes and the daily
// report share it, so one chart looks the same wherever it is shown.
//
// # Output
//
// Every function returns a complete SVG document with a viewBox and no
// fixed size, so a page can scale it to its container; ask for the size
// it will be shown at (Options.Width, Options.Height) so that text keeps
// its size. Colours are fixed (dark text on white, a blue series), chosen
// for a contrast of at least 4.5:1 for text and 3:1 for the data marks.
//
// # Empty data
//
// A result with nothing in it (no buckets, or every value 0) is not an
// error: the chart keeps its title and says "No data in this range", which
// is what a reader of an empty range should see.
package chart
