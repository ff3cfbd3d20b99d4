package redisstore

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// keys names every Redis key of one prefix. All of them carry the hash tag
// {prefix}, so in Redis Cluster a prefix lives in one slot: the append script
// touches a shop's stream, the dedup generations and the registry at once,
// and the relay's XREADGROUP names every shop stream in one command, which
// Cluster allows only within one slot. Spread load across nodes by using
// several prefixes.
type keys struct{ base string }

func newKeys(prefix string) keys { return keys{base: "{" + prefix + "}:"} }

// shops is the registry: a set of every shop id that has a stream.
func (k keys) shops() string { return k.base + "shops" }

// deadLetters is the stream of events relays gave up on.
func (k keys) deadLetters() string { return k.base + "dead" }

// checkpoints is a shop's checkpoints: a hash from name to value.
func (k keys) checkpoints(shop string) string { return k.base + "cp:" + shop }

// stream is a shop's event log, in arrival order.
func (k keys) stream(shop string) string { return k.base + "s:" + shop }

// index is a shop's time index: a sorted set, every score 0, read by lex
// range; see appendMemberPrefix.
func (k keys) index(shop string) string { return k.base + "i:" + shop }

// cursor holds the id of the last stream entry the shop's index covers;
// see indexScript.
func (k keys) cursor(shop string) string { return k.base + "c:" + shop }

// dedup is the set of one dedup generation: the dedup members of every
// event appended while it was current. The name holds the generation's
// length, so stores on one prefix with different DedupTTLs never read each
// other's generations as their own.
func (k keys) dedup(length, gen int64) string {
	return k.base + "d:" + strconv.FormatInt(length, 10) + ":" + strconv.FormatInt(gen, 10)
}

// appendDedupMember appends the member that stands for (shop, id) in a dedup
// set. The shop's length makes it unambiguous whatever bytes shop and id
// hold.
func appendDedupMember(b []byte, shop, id string) []byte {
	b = strconv.AppendInt(b, int64(len(shop)), 10)
	b = append(b, ':')
	b = append(b, shop...)
	b = append(b, ':')
	return append(b, id...)
}

// appendTime appends t as 16 hex digits that sort like the times they
// encode: microseconds since the epoch with the sign bit flipped, so times
// before 1970 still sort first.
func appendTime(b []byte, t time.Time) []byte {
	var raw [8]byte
	binary.BigEndian.PutUint64(raw[:], uint64(t.UnixMicro())^(1<<63))
	return hex.AppendEncode(b, raw[:])
}

// ceilMicro rounds t up to the microsecond, so a bound with nanoseconds
// still includes every event it must.
func ceilMicro(t time.Time) time.Time {
	if r := t.Sub(t.Truncate(time.Microsecond)); r > 0 {
		return t.Truncate(time.Microsecond).Add(time.Microsecond)
	}
	return t
}

// appendMemberPrefix appends what an index member starts with: the time,
// then the id with each NUL byte escaped as NUL 0xFF, then a NUL terminator.
// A chunk's prefixes, one after the other, are its entry's "k" field: the
// terminators, the only NULs not followed by 0xFF, cut them apart. The index
// member adds the stream entry id after the terminator. Members
// therefore sort by (timestamp, id) exactly as Go compares strings: the
// terminator (NUL followed by a digit of the entry id) sorts below any
// longer id and below an escaped NUL.
func appendMemberPrefix(b []byte, t time.Time, id string) []byte {
	b = appendTime(b, t)
	for {
		i := strings.IndexByte(id, 0)
		if i < 0 {
			break
		}
		b = append(b, id[:i]...)
		b = append(b, 0, 0xff)
		id = id[i+1:]
	}
	b = append(b, id...)
	return append(b, 0)
}

// entryID returns the stream entry id at the end of an index member.
func entryID(member string) string {
	return member[strings.LastIndexByte(member, 0)+1:]
}
