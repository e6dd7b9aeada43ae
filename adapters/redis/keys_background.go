package redis

// Keys of pushed policies and of background workers; doc.go describes them.
// The policy keys share the hash tag {policy}: SavePolicy's transaction and
// ActivatePolicy's script touch several of them.

func (k keys) policyRevision(revision string) string { return k.prefix + ":{policy}:rev:" + revision }
func (k keys) policyRevisions() string               { return k.prefix + ":{policy}:revisions" }
func (k keys) policyActive() string                  { return k.prefix + ":{policy}:active" }

// policyChannel is the Pub/Sub channel activations are published on.
func (k keys) policyChannel() string { return k.prefix + ":policy:activations" }

func (k keys) lease(name string) string  { return k.prefix + ":lease:" + name }
func (k keys) cursor(name string) string { return k.prefix + ":cursor:" + name }
