package ingest

// Crash stops in as if its process had been killed: the spool's files are
// closed without fsync and its lock is released, nothing is written or
// deleted in it from then on, and the goroutines are stopped. Another
// Ingester may then open the same spool.
func (in *Ingester) Crash() {
	if in.spool != nil {
		in.spool.crash()
	}
	in.mu.Lock()
	in.draining = true
	started := in.started
	in.mu.Unlock()
	in.abort()
	if started {
		<-in.stopped
	}
}
