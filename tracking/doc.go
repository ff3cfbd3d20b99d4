// Package tracking defines the shoplytics event: its fields and types, exact
// money, validation, and the decoding of every accepted wire form.
//
// # Events
//
// An [Event] is one thing that happened in a shop: a page view, a product
// added to a cart, a purchase. Its type is one of the canonical constants
// ([ProductViewed], [PurchaseCompleted], …) or any custom name matching
// [a-z0-9_]{1,64}. Aliases such as "view" and "purchase" are accepted on input
// and stored under their canonical name.
//
// # Money
//
// [Money] holds an integer count of a currency's minor unit and is parsed from
// decimal text digit by digit, never through float64. Amounts of different
// currencies are never added together.
//
// An amount is stored exactly as sent or refused: one with more decimal
// places than its currency's minor unit ("19.999" USD, "100.5" JPY) is a
// *[ValidationError] naming its field, never rounded. Only the binary noise
// of a number a client computed in floating point, within one part in 10^12
// of a whole number of minor units ("0.30000000000000004",
// "0.7999999999999999"), is taken as the amount it is noise of ("0.30",
// "0.80"); [ParseMoney] states the rule digit by digit.
//
// # Decoding and validation
//
// [DecodeBody] reads a request body in any accepted form (object, array,
// {"batch":[...]}, NDJSON, camelCase names); [Body.Events] normalises and
// validates each event and reports the bad ones by index without stopping.
// Every validation failure is a *[ValidationError] naming the field.
//
// A string field that holds invalid UTF-8 or a \uD800–\uDFFF escape
// without its pair is refused ("session_id: contains an unpaired UTF-16
// surrogate"), whatever its input name, rather than repaired to U+FFFD as
// encoding/json does: the repair would make "s\ud800" and "s\udbff" the
// same id, and the second event would be dropped as a duplicate of the
// first although its client was told it was accepted.
//
// # Long bodies
//
// A body carries at most [MaxBatchLen] events. A longer one is refused
// with [ErrTooManyEvents] while its elements are counted, before anything
// is kept per element, by the fast decoder and the encoding/json path
// alike: an array of half a million zeros costs a scan, not the tens of
// megabytes encoding/json would allocate for its elements.
//
// # Fast decoding
//
// Ingestion decodes events with a purpose-built scanner rather than
// encoding/json's reflection: it knows the field names, copies all strings of
// a body into one allocation and unescapes only strings that need it. Any
// input it is not certain about (a wrong type, a repeated or case-folded key,
// a syntax error) goes to the encoding/json path, so results are identical;
// a differential fuzz test holds the two to that. Segment bodies have a
// fast path built the same way: DecodeSegment checks, splits and maps a
// batch's track, page and screen messages in one scan, merging the
// envelope's context, into one string allocation per body, and leaves any
// message it is not sure of to FromSegment, its reference.
//
// # Client
//
// [Client] records events from a shop's own backend (purchases, refunds,
// sign-ups), where ad blockers cannot drop them. It sends to a shoplytics
// server's POST /events (Endpoint and WriteKey), or straight into an
// in-process *ingest.Ingester through the one-method [Sink] interface.
// Track validates and buffers; batches go out when BatchSize is reached
// or FlushInterval has passed, gzipped, each request carrying sent_at so
// the server corrects the backend's clock skew. What the server cannot
// take now (429, 5xx, a dropped connection) is retried with exponential
// backoff and jitter, waiting at least its Retry-After; any other refusal
// is logged, counted in [ClientStats] and dropped, since it would come
// again. Events get their ids when tracked, so a batch sent twice (its
// answer lost) is stored once. MaxBuffered bounds memory: once it is full,
// Track waits for room until its ctx ends. Close sends what is buffered.
package tracking
