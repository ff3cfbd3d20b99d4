package redisstore

// SetPerScript changes how many events one append script call writes, for
// benchmarks that compare group sizes.
func (s *Store) SetPerScript(n int) { s.perScript = n }
