package tracking

import (
	"bytes"
	"encoding/json"
)

// exceedsBatch reports whether data, a trimmed body encoding/json is about
// to decode, is valid JSON holding an array of more than MaxBatchLen
// elements where encoding/json would keep each of them: at the top level,
// or as the value of a top-level key it matches to "batch" (exactly or
// case-insensitively, escaped or not, any of them if the key repeats). It
// counts the commas of the array without allocating, and says true only of
// valid JSON, so that a malformed body still gets encoding/json's syntax
// error, which encoding/json finds before it allocates anything.
func exceedsBatch(data []byte) bool { return exceeds(data, MaxBatchLen) }

// exceeds is exceedsBatch with max (at least 1) elements allowed.
func exceeds(data []byte, max int) bool {
	over := false
	switch data[0] {
	case '[':
		over = arrayExceeds(data, 0, max)
	case '{':
		i := skipWS(data, 1)
		for !over && i < len(data) && data[i] == '"' {
			kend, esc, _, ok := scanString(data, i)
			if !ok {
				return false
			}
			key := data[i+1 : kend-1]
			if esc {
				key, _ = appendUnquoted(nil, key)
			}
			i = skipWS(data, kend)
			if i >= len(data) || data[i] != ':' {
				return false
			}
			i = skipWS(data, i+1)
			if i < len(data) && data[i] == '[' && bytes.EqualFold(key, []byte("batch")) {
				over = arrayExceeds(data, i, max)
			}
			if i = valueEnd(data, i); i < 0 {
				return false
			}
			if i = skipWS(data, i); i < len(data) && data[i] == ',' {
				i = skipWS(data, i+1)
				continue
			}
			break
		}
	}
	return over && json.Valid(data)
}

// arrayExceeds reports whether the array at data[i] has more than max
// elements, by counting the commas at its own level; it stops at the first
// comma too many. The array is not checked: a malformed one may be
// miscounted.
func arrayExceeds(data []byte, i, max int) bool {
	depth, commas := 0, 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			end, _, _, ok := scanString(data, i)
			if !ok {
				return false
			}
			i = end - 1
		case '[', '{':
			depth++
		case ']', '}':
			if depth--; depth == 0 {
				return false
			}
		case ',':
			if depth == 1 {
				if commas++; commas >= max {
					return true
				}
			}
		}
	}
	return false
}

// valueEnd returns the index past the JSON value at data[i], found by its
// brackets and strings without checking it, or -1 when data ends first.
func valueEnd(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		end, _, _, ok := scanString(data, i)
		if !ok {
			return -1
		}
		return end
	case '[', '{':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				end, _, _, ok := scanString(data, i)
				if !ok {
					return -1
				}
				i = end - 1
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(data); i++ {
		switch data[i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// skipWS skips JSON white space.
func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}
