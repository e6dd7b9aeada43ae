package embedded

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Bucket names; doc.go describes their keys and values.
var (
	bucketUsers       = []byte("users")
	bucketAccounts    = []byte("accounts")
	bucketVersions    = []byte("versions")
	bucketMembers     = []byte("members")
	bucketRequests    = []byte("requests")
	bucketByAccount   = []byte("requests_by_account")
	bucketByRequester = []byte("requests_by_requester")
	bucketGrants      = []byte("grants")
	bucketExclusive   = []byte("exclusive")
	bucketExpiries    = []byte("expiries")
	bucketAudit       = []byte("audit")
	bucketEvents      = []byte("events")
	bucketEventsTo    = []byte("events_by_recipient")
	bucketPolicies    = []byte("policies")
	bucketPolicyLog   = []byte("policies_by_time")
	bucketPolicyState = []byte("policy_state")
	bucketLeases      = []byte("leases")
	bucketCursors     = []byte("cursors")

	bucketRequesterVersions = []byte("requester_versions")
	bucketCommits           = []byte("commits")
	bucketIdempotency       = []byte("idempotency")
	bucketRecordExpiry      = []byte("records_by_expiry")
)

// createBuckets makes every bucket that does not exist yet.
func createBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{
		bucketUsers, bucketAccounts, bucketVersions, bucketMembers,
		bucketRequests, bucketByAccount, bucketByRequester, bucketGrants,
		bucketExclusive, bucketExpiries, bucketAudit, bucketEvents, bucketEventsTo,
		bucketPolicies, bucketPolicyLog, bucketPolicyState, bucketLeases, bucketCursors,
		bucketRequesterVersions, bucketCommits, bucketIdempotency, bucketRecordExpiry,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// getJSON decodes the value at key into v and reports whether it exists.
func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := decode(key, raw, v); err != nil {
		return false, err
	}
	return true, nil
}

// putJSON encodes v and stores it at key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("embedded: encode record %q: %w", key, err)
	}
	return b.Put(key, raw)
}

// decode reads one JSON record found at key.
func decode(key, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("embedded: decode record %q: %w", key, err)
	}
	return nil
}
