// Command soak runs the example server under mixed traffic for a long time
// and plots how its resources behave: resident memory, goroutines, open
// files, the ingester's queue and spool depth and the stored rate, sampled
// from /metrics. It is not part of CI (it takes half an hour); run it after
// changes to the ingest path and look at the picture.
//
//	go run ./scripts/soak [-duration 30m] [-rate 8000] [-store URL] [-out docs/soak.png]
//
// Traffic: single events (90 % of the requests), 20-event batches, a
// retried request now and then (its events come back as duplicates), and
// two readers of their own (/api/stats, /api/counts, /api/timeseries, a
// short export) four times a second each. At the end the server is stopped with SIGTERM and the
// events it stored are checked against those it acknowledged.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-analyze/charts"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// sample is one reading of the server's /metrics.
type sample struct {
	at                          time.Duration
	rssMB, goroutines, openFDs  float64
	queued, spooled, storedRate float64
	stored                      float64
}

func run() error {
	duration := flag.Duration("duration", 30*time.Minute, "how long the traffic runs")
	rate := flag.Int("rate", 8000, "requests per second to send (half the server's maximum is the point)")
	every := flag.Duration("sample", 10*time.Second, "how often to read /metrics")
	storeURL := flag.String("store", "", "store URL for the server (default: SQLite in a temporary directory)")
	out := flag.String("out", "docs/soak.png", "where to write the plot (a .csv beside it holds the samples)")
	fromCSV := flag.String("from-csv", "", "only plot the samples of an earlier run's .csv")
	note := flag.String("note", "", "the plot's subtitle (default: the run's duration, rate and store)")
	flag.Parse()
	if *fromCSV != "" {
		samples, err := readCSV(*fromCSV)
		if err != nil {
			return err
		}
		return plot(*out, samples, *note)
	}

	work, err := os.MkdirTemp("", "soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "server")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/server").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v: %s", err, out)
	}
	if *storeURL == "" {
		*storeURL = "sqlite://" + filepath.Join(work, "soak.db")
	}
	srv := exec.Command(bin, "-addr", "127.0.0.1:0", "-store", *storeURL, "-spool", filepath.Join(work, "spool"))
	stderr, err := srv.StderrPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Process.Kill()
	base, logs, err := waitListening(stderr)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var acked, refused, failed, reads atomic.Int64
	var wg sync.WaitGroup
	const workers = 64
	perWorker := time.Duration(float64(time.Second) * workers / float64(*rate))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			tick := time.NewTicker(perWorker)
			defer tick.Stop()
			client := &http.Client{Timeout: 30 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				{
					r := rnd.IntN(100)
					count := 1
					if r < 10 {
						count = 20
					}
					id := fmt.Sprintf("w%d-%d", w, n)
					if r == 99 && n > 0 {
						id = fmt.Sprintf("w%d-%d", w, n-1) // a client retrying
					}
					switch status := post(client, base, id, count, rnd); {
					case status == http.StatusAccepted:
						acked.Add(int64(count))
					case status == http.StatusServiceUnavailable:
						refused.Add(int64(count))
					default:
						failed.Add(1)
					}
				}
			}
		}()
	}

	// Readers of their own, so slow reads never hold the writers back.
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(1000+r), 7))
			client := &http.Client{Timeout: time.Minute}
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				reads.Add(1)
				read(client, base, rnd)
			}
		}()
	}

	var samples []sample
	start := time.Now()
	tick := time.NewTicker(*every)
	var lastStored float64
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
		}
		m, err := scrape(base)
		if err != nil {
			return fmt.Errorf("scrape: %w", err)
		}
		s := sample{at: time.Since(start), rssMB: m["process_resident_memory_bytes"] / (1 << 20),
			goroutines: m["go_goroutines"], openFDs: m["process_open_fds"],
			queued: m["shoplytics_ingest_queued_events"], spooled: m["shoplytics_ingest_spool_events"],
			stored: m["shoplytics_ingest_stored_events_total"]}
		if len(samples) > 0 {
			gap := s.at - samples[len(samples)-1].at
			if gap < *every/2 {
				break // the end came just after a sample: too short to rate
			}
			s.storedRate = (s.stored - lastStored) / gap.Seconds()
		}
		lastStored = s.stored
		samples = append(samples, s)
		fmt.Printf("%6.0fs rss=%.0fMB goroutines=%.0f fds=%.0f queued=%.0f spooled=%.0f stored=%.0f/s acked=%d refused=%d errors=%d\n",
			s.at.Seconds(), s.rssMB, s.goroutines, s.openFDs, s.queued, s.spooled, s.storedRate, acked.Load(), refused.Load(), failed.Load())
	}
	wg.Wait()
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := srv.Wait(); err != nil {
		return fmt.Errorf("server: %w\n%s", err, logs.String())
	}
	stored, dups := stoppedCounts(logs.String())
	fmt.Printf("acknowledged %d events; the server stored %d and found %d duplicates (retried ids), so %d acknowledged events are missing; refused %d; other errors %d; reads %d\n",
		acked.Load(), stored, dups, acked.Load()-stored-dups, refused.Load(), failed.Load(), reads.Load())
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := writeCSV(strings.TrimSuffix(*out, filepath.Ext(*out))+".csv", samples); err != nil {
		return err
	}
	if *note == "" {
		*note = fmt.Sprintf("%v at %d req/s on %s", *duration, *rate, strings.SplitN(*storeURL, ":", 2)[0])
	}
	return plot(*out, samples, *note)
}

var listenRe = regexp.MustCompile(`addr=(http://\S+)`)

// waitListening reads the server's log until it says where it listens,
// and keeps copying the log into the returned buffer.
func waitListening(r io.Reader) (string, *syncBuffer, error) {
	logs := &syncBuffer{}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case base := <-found:
		return base, logs, nil
	case <-time.After(time.Minute):
		return "", nil, errors.New("the server did not start: " + logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var products = []string{"sku-1", "sku-2", "sku-3", "sku-4", "sku-5", "sku-6", "sku-7", "sku-8"}

func post(c *http.Client, base, id string, n int, rnd *rand.Rand) int {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		p := products[rnd.IntN(len(products))]
		switch k := rnd.IntN(10); {
		case k < 5:
			fmt.Fprintf(&b, `{"id":"%s-%d","type":"page_viewed","anonymous_id":"a%d","session_id":"s%d","url":"https://shop.example/c/%s"}`, id, i, rnd.IntN(5000), rnd.IntN(20000), p)
		case k < 8:
			fmt.Fprintf(&b, `{"id":"%s-%d","type":"product_viewed","anonymous_id":"a%d","session_id":"s%d","product_id":%q,"price":"19.90"}`, id, i, rnd.IntN(5000), rnd.IntN(20000), p)
		case k < 9:
			fmt.Fprintf(&b, `{"id":"%s-%d","type":"add_to_cart","anonymous_id":"a%d","session_id":"s%d","product_id":%q,"price":"19.90","quantity":1}`, id, i, rnd.IntN(5000), rnd.IntN(20000), p)
		default:
			fmt.Fprintf(&b, `{"id":"%s-%d","type":"purchase_completed","user_id":"u%d","session_id":"s%d","revenue":"39.80","currency":"EUR","order_id":"o-%s-%d"}`, id, i, rnd.IntN(2000), rnd.IntN(20000), id, i)
		}
	}
	b.WriteByte(']')
	req, _ := http.NewRequest("POST", base+"/events", &b)
	req.SetBasicAuth("wk_demo", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func read(c *http.Client, base string, rnd *rand.Rand) {
	paths := []string{"/api/stats", "/api/counts", "/api/timeseries?metric=events&interval=hour", "/api/export?from=" + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}
	req, _ := http.NewRequest("GET", base+paths[rnd.IntN(len(paths))], nil)
	req.Header.Set("Authorization", "Bearer rk_demo")
	resp, err := c.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// scrape reads the unlabelled samples of /metrics.
func scrape(base string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

var stoppedRe = regexp.MustCompile(`shoplytics stopped.* stored=(\d+) duplicates=(\d+)`)

// stoppedCounts reads what the server's stop line says it stored, and the
// duplicates it dropped.
func stoppedCounts(logs string) (stored, duplicates int64) {
	m := stoppedRe.FindStringSubmatch(logs)
	if m == nil {
		return -1, -1
	}
	stored, _ = strconv.ParseInt(m[1], 10, 64)
	duplicates, _ = strconv.ParseInt(m[2], 10, 64)
	return stored, duplicates
}

// readCSV reads the samples writeCSV wrote.
func readCSV(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, r := range rows[min(1, len(rows)):] {
		v := make([]float64, len(r))
		for i, c := range r {
			if v[i], err = strconv.ParseFloat(c, 64); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		if len(v) != 7 {
			return nil, fmt.Errorf("%s: a row of %d columns", path, len(v))
		}
		out = append(out, sample{at: time.Duration(v[0] * float64(time.Second)), rssMB: v[1], goroutines: v[2], openFDs: v[3],
			queued: v[4], spooled: v[5], storedRate: v[6]})
	}
	return out, nil
}

func writeCSV(path string, samples []sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"seconds", "rss_mb", "goroutines", "open_fds", "queued", "spooled", "stored_per_second"})
	for _, s := range samples {
		_ = w.Write([]string{fmt.Sprint(s.at.Seconds()), fmt.Sprint(s.rssMB), fmt.Sprint(s.goroutines), fmt.Sprint(s.openFDs),
			fmt.Sprint(s.queued), fmt.Sprint(s.spooled), fmt.Sprint(s.storedRate)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plot draws one line chart per resource and lays them out in a grid.
func plot(path string, samples []sample, subtitle string) error {
	labels := make([]string, len(samples))
	for i, s := range samples {
		labels[i] = s.at.Round(time.Second).String()
	}
	series := func(f func(s sample) float64) []float64 {
		v := make([]float64, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		return v
	}
	panels := []struct {
		title string
		names []string
		data  [][]float64
	}{
		{"Resident memory (MB)", []string{"RSS"}, [][]float64{series(func(s sample) float64 { return s.rssMB })}},
		{"Goroutines", []string{"goroutines"}, [][]float64{series(func(s sample) float64 { return s.goroutines })}},
		{"Open files", []string{"fds"}, [][]float64{series(func(s sample) float64 { return s.openFDs })}},
		{"Events waiting", []string{"in memory", "in the spool"}, [][]float64{
			series(func(s sample) float64 { return s.queued }), series(func(s sample) float64 { return s.spooled })}},
		{"Events stored per second", []string{"stored/s"}, [][]float64{series(func(s sample) float64 { return s.storedRate })}},
	}
	const w, h = 640, 320
	canvas := image.NewRGBA(image.Rect(0, 0, 2*w, 3*h))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range panels {
		opt := charts.NewLineChartOptionWithData(p.data)
		opt.Title.Text = p.title
		if i == 0 {
			opt.Title.Subtext = subtitle
		}
		opt.XAxis.Labels = labels
		opt.XAxis.LabelCount = 7
		opt.YAxis = []charts.YAxisOption{{Min: charts.Ptr(0.0)}} // from zero: no drift made to look large
		opt.Legend.SeriesNames = p.names
		opt.Legend.Offset = charts.OffsetRight
		opt.Symbol.Shape = charts.SymbolNone
		opt.LineStrokeWidth = 1.5
		painter := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: w, Height: h})
		if err := painter.LineChart(opt); err != nil {
			return fmt.Errorf("plot %s: %w", p.title, err)
		}
		b, err := painter.Bytes()
		if err != nil {
			return err
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return err
		}
		at := image.Pt((i%2)*w, (i/2)*h)
		draw.Draw(canvas, image.Rectangle{Min: at, Max: at.Add(image.Pt(w, h))}, img, image.Point{}, draw.Over)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, canvas); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
