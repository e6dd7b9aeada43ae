package redis

import (
	"crypto/sha256"
	"encoding/hex"
)

// keys names every Redis key of one store; doc.go describes the layout.
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

// Global keys.
func (k keys) requestIndex() string { return k.prefix + ":requests" }
func (k keys) events() string       { return k.prefix + ":events" }
func (k keys) expiries() string     { return k.prefix + ":expiries" }
func (k keys) expiryAt() string     { return k.prefix + ":expiry-at" }
