package redisstore

// SetChunk changes how many events one append script call writes, for
// benchmarks that compare chunk sizes.
func (s *Store) SetChunk(n int) { s.chunk = n }

// SetGenerationSkew pretends the local clock is off from Redis's by n dedup
// generations, as the next Append sees it.
func (s *Store) SetGenerationSkew(n int64) { s.genSkew.Store(n) }
