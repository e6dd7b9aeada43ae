package redis

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"strings"
)

// keys names every Redis key of one store; doc.go describes the layout.
// The keys one script or transaction touches share a hash tag ({...}), so
// that they share one Redis Cluster hash slot.
type keys struct {
	prefix string
}

// accountKey returns the key holding part of account id. The hash tag
// {a:<id>} puts every key of one account in one hash slot.
func (k keys) accountKey(id, part string) string {
	return k.prefix + ":{a:" + id + "}:" + part
}

// userKey returns the key holding part of user id, tagged {u:<id>}.
func (k keys) userKey(id, part string) string {
	return k.prefix + ":{u:" + id + "}:" + part
}

func (k keys) account(id string) string   { return k.accountKey(id, "account") }
func (k keys) version(id string) string   { return k.accountKey(id, "version") }
func (k keys) members(id string) string   { return k.accountKey(id, "members") }
func (k keys) requests(id string) string  { return k.accountKey(id, "requests") }
func (k keys) grants(id string) string    { return k.accountKey(id, "grants") }
func (k keys) exclusive(id string) string { return k.accountKey(id, "exclusive") }
func (k keys) audit(id string) string     { return k.accountKey(id, "audit") }

// fence is the key a change deciding on account id among others holds
// while it commits (fence.go).
func (k keys) fence(id string) string { return k.accountKey(id, "fence") }

// outbox is the stream of the effects of account id's commits on other
// hash slots, not yet applied (relay.go).
func (k keys) outbox(id string) string { return k.accountKey(id, "outbox") }

// requesterVersions is the hash of the versions of each requester's
// requests on account id.
func (k keys) requesterVersions(id string) string { return k.accountKey(id, "requester-versions") }

// commit is the record of the applied change commitID, under its home account.
func (k keys) commit(home, commitID string) string { return k.accountKey(home, "commit:"+commitID) }

// idempotency is the record of actor's idempotency key under home: the
// pair is hashed, so that any key text makes a short key name.
func (k keys) idempotency(home, actor, key string) string {
	sum := sha256.Sum256([]byte(actor + "\x00" + key))
	return k.accountKey(home, "idem:"+hex.EncodeToString(sum[:]))
}

func (k keys) user(id string) string         { return k.userKey(id, "user") }
func (k keys) userRequests(id string) string { return k.userKey(id, "requests") }
func (k keys) userEvents(id string) string   { return k.userKey(id, "events") }

// Global keys. They keep the names they had before Redis Cluster was
// supported, so that a deployment upgrading keeps its data: no script
// touches two of them, so each may hash to a slot of its own.
func (k keys) requestIndex() string { return k.prefix + ":requests" }
func (k keys) events() string       { return k.prefix + ":events" }
func (k keys) expiries() string     { return k.prefix + ":expiries" }
func (k keys) expiryAt() string     { return k.prefix + ":expiry-at" }

// fanout is the cursor of the copy of events to their recipients' streams,
// in gh:events's slot: its hash tag is that key's name.
func (k keys) fanout() string { return k.prefix + ":{" + k.events() + "}:fanout" }

// outboxShards is how many keys the registry of outboxes to relay is
// spread over, so that no single key takes every commit.
const outboxShards = 16

// pendingOutboxes is the registry shard that lists account id while its
// outbox may hold entries: sorted set, account -> registration count.
func (k keys) pendingOutboxes(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id)) // a hash.Hash never fails to write
	return k.pendingShard(int(h.Sum32() % outboxShards))
}

func (k keys) pendingShard(n int) string {
	return k.prefix + ":{outboxes:" + strconv.Itoa(n) + "}"
}

// applied is the marker of outbox entry id applied to the hash slot of key,
// a key in that slot beside the effect it marks: key's hash tag with
// ":applied:<id>", or for a key without a tag, the whole key as the tag.
func (k keys) applied(key, id string) string {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			return key[:open+1+end+1] + ":applied:" + id
		}
	}
	return k.prefix + ":{" + key + "}:applied:" + id
}

// hashTag returns the part of key Redis Cluster hashes: the text between
// the first '{' and the first '}' after it when that is not empty, else the
// whole key.
func hashTag(key string) string {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			return key[open+1 : open+1+end]
		}
	}
	return key
}
