package embedded

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// Idempotency records past their retention are deleted by later commits,
// index entries included, so the file does not grow with old records.
func TestExpiredIdempotencyRecordsAreSwept(t *testing.T) {
	s, err := Open(t.TempDir(), WithNoSync())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()

	for _, key := range []string{"k1", "k2", "k3"} {
		require.NoError(t, s.Commit(ctx, engine.Change{ID: "c-" + key, Home: "acme", Idempotency: &engine.IdempotencyRecord{
			Actor: "alice", Key: key, Fingerprint: "fp", Answer: []byte("{}"), Retention: time.Millisecond,
		}}))
	}
	count := func(bucket []byte) int {
		n := 0
		require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucket).ForEach(func(_, _ []byte) error { n++; return nil })
		}))
		return n
	}
	require.NotZero(t, count(bucketIdempotency), "a commit never sweeps its own record")

	require.Eventually(t, func() bool {
		require.NoError(t, s.Commit(ctx, engine.Change{Users: []engine.User{{ID: "u", Email: "u@example.com"}}}))
		return count(bucketIdempotency) == 0
	}, 30*time.Second, 5*time.Millisecond)
	assert.Equal(t, 3, count(bucketCommits), "commit records are kept for engine.CommitRetention")
	assert.Equal(t, 3, count(bucketRecordExpiry), "the index keeps the commit records' entries only")
}
