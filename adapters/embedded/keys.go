package embedded

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// compoundKey joins parts, each preceded by its length as a uvarint, so that
// no part can run into the next one whatever bytes an id holds. The key of
// (account) is a prefix of every key (account, ...), and of nothing else.
func compoundKey(parts ...string) []byte {
	size := 0
	for _, p := range parts {
		size += binary.MaxVarintLen64 + len(p)
	}
	k := make([]byte, 0, size)
	for _, p := range parts {
		k = binary.AppendUvarint(k, uint64(len(p)))
		k = append(k, p...)
	}
	return k
}

// timeKeyLen is the width of an encoded instant.
const timeKeyLen = 12

// timeKey encodes t so that byte order is time order: seconds since the
// epoch with the sign bit flipped, then nanoseconds, both big-endian.
func timeKey(t time.Time) []byte {
	k := make([]byte, timeKeyLen)
	binary.BigEndian.PutUint64(k, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(k[8:], uint32(t.Nanosecond()))
	return k
}

// seqKey encodes a bucket sequence number so that byte order is numeric order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// formatCursor turns a sequence number into the opaque cursor callers see.
func formatCursor(seq uint64) string {
	return fmt.Sprintf("%020d", seq)
}

// parseCursor reads a cursor made by formatCursor; "" is the start (0).
func parseCursor(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	seq, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil {
		return 0, engine.Invalid("after", "%q is not a cursor this API returned", cursor)
	}
	return seq, nil
}

// join concatenates byte slices into a new one.
func join(parts ...[]byte) []byte {
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	k := make([]byte, 0, size)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}
