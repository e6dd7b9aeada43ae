package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Cookie names: the __Host- prefix (Secure, Path=/, no Domain) is used on
// TLS, where browsers accept it; plain HTTP (development) takes the other.
const (
	cookieName       = "gatehouse_console"
	secureCookieName = "__Host-gatehouse_console"
	csrfField        = "csrf"
)

// session is what the console remembers of a browser, sealed in its
// cookie: an id the CSRF token is tied to, and once signed in, who and
// the API token presented on their behalf (never rendered nor logged).
type session struct {
	ID      string    `json:"id"`
	Subject string    `json:"sub,omitempty"`
	Token   string    `json:"tok,omitempty"`
	Expiry  time.Time `json:"exp"`
}

// signedIn reports whether the session names a user whose token is still
// valid at now.
func (s session) signedIn(now time.Time) bool {
	return s.Subject != "" && s.Token != "" && now.Before(s.Expiry)
}

// sessions seals sessions into cookies with AES-256-GCM (secret and
// authenticated) and derives their CSRF tokens with HMAC-SHA256. A sealed
// cookie stays valid until its expiry wherever it is presented, so the
// ids of signed-in sessions that ended before (sign-out, another sign-in
// in the same browser) are remembered until they would have expired, and
// refused: a copy of the cookie is worth nothing after sign-out.
type sessions struct {
	aead    cipher.AEAD
	csrfKey []byte

	mu     sync.Mutex
	ended  map[string]time.Time // session id -> its expiry
	pruned time.Time
}

func newSessions(key []byte) (*sessions, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("console: the session key must be 32 bytes (it has %d)", len(key))
	}
	sealKey := derive(key, "gatehouse console session")
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("console: session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("console: session key: %w", err)
	}
	return &sessions{aead: aead, csrfKey: derive(key, "gatehouse console csrf"), ended: map[string]time.Time{}}, nil
}

// derive returns the 32-byte key for purpose from key.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// newSessionID returns a random session id.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// seal encodes s into a cookie value.
func (ss *sessions) seal(s session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, ss.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(ss.aead.Seal(nonce, nonce, plain, []byte(cookieName))), nil
}

// open decodes a cookie value; an error says it was not sealed by this key.
func (ss *sessions) open(value string) (session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < ss.aead.NonceSize() {
		return session{}, errors.New("console: malformed session cookie")
	}
	n := ss.aead.NonceSize()
	plain, err := ss.aead.Open(nil, raw[:n], raw[n:], []byte(cookieName))
	if err != nil {
		return session{}, errors.New("console: session cookie not sealed by this server")
	}
	var s session
	if err := json.Unmarshal(plain, &s); err != nil || s.ID == "" {
		return session{}, errors.New("console: malformed session")
	}
	return s, nil
}

// read returns the session sealed in the cookie named name of r, if it
// carries a valid one that has not ended.
func (ss *sessions) read(r *http.Request, name string) (session, bool) {
	ck, err := r.Cookie(name)
	if err != nil {
		return session{}, false
	}
	s, err := ss.open(ck.Value)
	if err != nil || ss.hasEnded(s.ID) {
		return session{}, false
	}
	return s, true
}

// end records that signed-in session s ended at now: read refuses it from
// then on. Anonymous and expired sessions need no record (they grant
// nothing); records are forgotten once their session would have expired,
// so the record holds at most the sign-outs of the last sessionTTL.
func (ss *sessions) end(s session, now time.Time) {
	if !s.signedIn(now) {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if now.Sub(ss.pruned) >= time.Minute {
		for id, until := range ss.ended {
			if !now.Before(until) {
				delete(ss.ended, id)
			}
		}
		ss.pruned = now
	}
	ss.ended[s.ID] = s.Expiry
}

// hasEnded reports whether the session with this id was ended.
func (ss *sessions) hasEnded(id string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	_, ended := ss.ended[id]
	return ended
}

// csrfToken is the synchronizer token of session s: every state-changing
// form carries it, and a POST whose token is not its session's is refused.
func (ss *sessions) csrfToken(s session) string {
	m := hmac.New(sha256.New, ss.csrfKey)
	m.Write([]byte(s.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether token is session s's.
func (ss *sessions) validCSRF(s session, token string) bool {
	want := ss.csrfToken(s)
	return token != "" && subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}

// noticeMark is the mark of the confirmation done for session s (the
// first 128 bits of an HMAC-SHA256 with the CSRF key, kept apart from the
// CSRF token by its prefix): the redirect after a change carries it, so
// that a page shows a confirmation only after this visitor's own change.
func (ss *sessions) noticeMark(s session, done string) string {
	m := hmac.New(sha256.New, ss.csrfKey)
	m.Write([]byte("notice\x00" + s.ID + "\x00" + done))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// validNoticeMark reports whether mark is noticeMark(s, done).
func (ss *sessions) validNoticeMark(s session, done, mark string) bool {
	return done != "" && mark != "" && subtle.ConstantTimeCompare([]byte(ss.noticeMark(s, done)), []byte(mark)) == 1
}

// writeSession sets the session cookie: HttpOnly, SameSite=Lax, scoped to
// the console, Secure over TLS.
func (c *Console) writeSession(w http.ResponseWriter, r *http.Request, s session) error {
	value, err := c.sessions.seal(s)
	if err != nil {
		return err
	}
	http.SetCookie(w, c.cookie(r, value, s.Expiry))
	return nil
}

// session returns the request's session, if it carries a valid one that
// has not ended, in the cookie this console sets on such a request (a
// secure console reads only its __Host- cookie: a plain one, which anyone
// on the network path can plant over HTTP, is ignored).
func (c *Console) session(r *http.Request) (session, bool) {
	return c.sessions.read(r, c.cookieName(r))
}

// endSession ends the request's session, if it carries one: its cookie is
// removed, and a copy of it, replayed, is refused (sessions.end).
func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	if s, ok := c.session(r); ok {
		c.sessions.end(s, c.now())
	}
	ck := c.cookie(r, "", time.Unix(1, 0))
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

// cookieName is the name of the session cookie on r: __Host- prefixed on
// TLS (or behind a TLS-terminating proxy, SecureCookie).
func (c *Console) cookieName(r *http.Request) string {
	if r.TLS != nil || c.secure {
		return secureCookieName
	}
	return cookieName
}

func (c *Console) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name: c.cookieName(r), Value: value, Path: Prefix, Expires: expires,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if ck.Name == secureCookieName {
		ck.Path, ck.Secure = "/", true
	}
	return ck
}

// ensureSession returns the request's session, or starts an anonymous one
// (which the sign-in form's CSRF token is tied to) and sets its cookie.
func (c *Console) ensureSession(w http.ResponseWriter, r *http.Request) (session, error) {
	if s, ok := c.session(r); ok {
		return s, nil
	}
	s := session{ID: newSessionID(), Expiry: c.now().Add(sessionTTL)}
	return s, c.writeSession(w, r, s)
}

// maxFormBytes is the largest form body the console reads.
const maxFormBytes = 64 << 10

// csrf refuses a POST that does not carry its session's CSRF token, or
// that the browser says was sent from another site (Origin, or Referer
// when there is no Origin), with 403; the form is parsed (at most
// maxFormBytes) and checked (checkForm, else 400) before next runs.
func (c *Console) csrf(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			var tooLarge *http.MaxBytesError
			msg := "The form could not be read: " + err.Error()
			if errors.As(err, &tooLarge) {
				msg = fmt.Sprintf("The form is larger than %d KiB: nothing was changed. Shorten what you typed and send it again.", maxFormBytes>>10)
			}
			c.plainError(w, r, http.StatusBadRequest, msg)
			return
		}
		s, ok := c.session(r)
		if !ok || !c.sessions.validCSRF(s, r.PostForm.Get(csrfField)) {
			c.plainError(w, r, http.StatusForbidden,
				"This form was refused: it did not come from this console's own page (missing or wrong CSRF token). Reload the page and try again.")
			return
		}
		if from, ok := sameOrigin(r); !ok {
			c.plainError(w, r, http.StatusForbidden, fmt.Sprintf(
				"This form was refused: it did not come from this console's own page (the browser says it was sent from %s; this console is %s). Reload the page and try again.",
				from, r.Host))
			return
		}
		if err := checkForm(r.PostForm); err != nil {
			c.plainError(w, r, http.StatusBadRequest, "This form was refused, nothing was changed: "+err.Error()+". Go back, correct it and send it again.")
			return
		}
		next(w, r)
	}
}

// sameOrigin reports whether the page the request was sent from is this
// server: its Origin, or when the browser sent none its Referer, names
// this host (over https, or over http when the request came so). A
// request with neither is let through (the CSRF token decides). It
// returns the origin the browser named.
func sameOrigin(r *http.Request) (string, bool) {
	from := r.Header.Get("Origin")
	if from == "" {
		ref, err := url.Parse(r.Header.Get("Referer"))
		if err != nil {
			return "an unreadable Referer", false
		}
		if ref.Scheme == "" && ref.Host == "" {
			return "", true
		}
		from = ref.Scheme + "://" + ref.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return from, from == scheme+"://"+r.Host || from == "https://"+r.Host
}

// multiValued are the form fields that take several values (check boxes,
// the hidden list of virtual accounts); every other field takes one.
var multiValued = map[string]bool{"virtual_accounts": true, "roles": true, "va": true}

// checkForm returns what is wrong with a posted form, naming the field: a
// field that takes one value sent several times (which of them would be
// meant?), or a name or value that is not text: invalid UTF-8 (which the
// API's JSON would silently replace) or a control character other than
// tab and line breaks (no one types one; in a terminal it rewrites what
// the CLI shows). nil when the form is well formed.
func checkForm(f url.Values) error {
	names := slices.Sorted(maps.Keys(f))
	for _, name := range names {
		if !isText(name) {
			return fmt.Errorf("a field name is not text (%q)", name)
		}
		values := f[name]
		if len(values) > 1 && !multiValued[name] {
			return fmt.Errorf("the field %s was sent %d times: it takes one value", name, len(values))
		}
		for _, v := range values {
			if !isText(v) {
				return fmt.Errorf("the field %s holds something that is not text (invalid UTF-8, or a control character other than tab and line breaks)", name)
			}
		}
	}
	return nil
}

// isText reports whether s is valid UTF-8 without control characters
// other than tab, line feed and carriage return.
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
