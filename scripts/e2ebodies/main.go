// Command e2ebodies writes request bodies for scripts/bench-e2e.sh's
// -bodies datagen: the events of internal/datagen's shop traffic (many
// visitors and devices, sessions, products, identify after browsing,
// checkouts and purchases in several currencies), in order of receipt, one
// JSON body per line, each a single event or an array of -batch events.
// Ids are left out, so the server gives every send a new id and a body
// sent twice is stored twice, as fresh traffic would be; the shop comes
// from the write key.
//
//	go run ./scripts/e2ebodies [-events 200000] [-batch 1] [-seed 1] > bodies.txt
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/tracking"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2ebodies:", err)
		os.Exit(1)
	}
}

func run() error {
	events := flag.Int("events", 200_000, "events to write")
	batch := flag.Int("batch", 1, "events per body: 1 writes single objects, more writes arrays")
	seed := flag.Uint64("seed", 1, "datagen seed")
	visitors := flag.Int("visitors", 5000, "visits a day")
	flag.Parse()
	if *events < 1 || *batch < 1 {
		return errors.New("-events and -batch must be at least 1")
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	written, inBody := 0, 0
	var line []byte
	stop := errors.New("enough")
	// Days enough for the events asked for, at a few events a visit; the
	// stream stops once they are written.
	days := max(1, *events / *visitors + 1)
	err := datagen.Stream(datagen.Options{Days: days, Visitors: *visitors, Seed: *seed}, func(b []tracking.Event) error {
		for i := range b {
			e := b[i]
			e.ID, e.ShopID, e.ReceivedAt = "", "", time.Time{}
			if *batch > 1 {
				if inBody == 0 {
					line = append(line, '[')
				} else {
					line = append(line, ',')
				}
			}
			line = e.AppendJSON(line)
			inBody++
			written++
			if inBody == *batch || written == *events {
				if *batch > 1 {
					line = append(line, ']')
				}
				line = append(line, '\n')
				if _, err := w.Write(line); err != nil {
					return err
				}
				line, inBody = line[:0], 0
			}
			if written == *events {
				return stop
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return err
	}
	if written < *events {
		return fmt.Errorf("datagen gave %d events, fewer than -events %d: raise -visitors", written, *events)
	}
	return w.Flush()
}
