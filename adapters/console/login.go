package console

import (
	"net/http"
	"time"
)

// Identity is who signed in to the console: the subject the API knows
// them by (R43), and the bearer token the console presents to the API on
// their behalf until Expiry.
type Identity struct {
	Subject string
	Token   string
	Expiry  time.Time
}

// LoginFlow signs a user in through an identity provider. Start answers
// the browser's request to sign in (typically a redirect to the provider,
// after remembering what Finish needs to check the answer); Finish handles
// the provider's redirect back and returns who signed in, or an error
// naming what was refused. Both are called on the console's own paths.
type LoginFlow interface {
	Start(w http.ResponseWriter, r *http.Request)
	Finish(w http.ResponseWriter, r *http.Request) (Identity, error)
}
