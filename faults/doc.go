// Package faults holds fault tests of the example server: hostile and
// broken clients against a real server process, built once from
// examples/server and driven over TCP. It has no code of its own; its tests
// are plain `go test`, each bounded in time, run by .ci/run with the rest of
// the module and skipped under -short.
//
// # Memory
//
// Hundreds of concurrent 1 MiB bodies (unauthenticated arrays of zeros,
// garbage, invalid events under a valid key) must leave the server's
// resident set high-water mark (VmHWM) under a fixed bound, and the server
// healthy and storing events afterwards. What keeps it there is the
// handler's decoding budget (httpapi.Config.MaxDecodingBytes) and the
// decoder's refusal of an over-long array while counting it.
//
// # Slow clients
//
// Connections that send their headers a byte at a time (slowloris) or
// dribble a body must not keep normal requests from being answered
// promptly, and are cut by the server's header and read timeouts, which
// the tests shorten through the server's -read-header-timeout and
// -read-timeout flags.
package faults
