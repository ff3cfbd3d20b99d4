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
// # Decoding and validation
//
// [DecodeBody] reads a request body in any accepted form (object, array,
// {"batch":[...]}, NDJSON, camelCase names); [Body.Events] normalises and
// validates each event and reports the bad ones by index without stopping.
// Every validation failure is a *[ValidationError] naming the field.
//
// # Fast decoding
//
// Ingestion decodes events with a purpose-built scanner rather than
// encoding/json's reflection: it knows the field names, copies all strings of
// a body into one allocation and unescapes only strings that need it. Any
// input it is not certain about (a wrong type, a repeated or case-folded key,
// a syntax error) goes to the encoding/json path, so results are identical;
// a differential fuzz test holds the two to that.
package tracking
