package docs

import "testing"

// TestAnswersMatchUpToWhatVariesByRun: the replay forgives ids, times and
// revisions, by shape and one to one, and nothing else.
func TestAnswersMatchUpToWhatVariesByRun(t *testing.T) {
	const (
		docID, realID, otherID = "01M8P934TGQFW74RYZ1XT8822G", "01M8PA0SMXB7YASPBCW8DN65EZ", "01M8PA0SN03G0CEJ4F3QPGSNQV"
		expiry                 = "2027-01-31T00:00:00Z"
	)
	r := &replayer{ids: map[string]string{}, docIDs: map[string]string{}}
	for _, tc := range []struct {
		name, doc, got string
		sent           map[string]bool
		fits           bool
	}{
		{name: "an id in a message", doc: "request " + docID + " is granted", got: "request " + realID + " is granted", fits: true},
		{name: "the same id again", doc: docID, got: realID, fits: true},
		{name: "another id for a documented one", doc: docID, got: otherID},
		{name: "a documented id for the server's of another", doc: "01M8P93B5A0NSQJT5BE28X3727", got: realID},
		{name: "the words around an id", doc: "conflict: request " + docID, got: "request " + realID},
		{name: "a time", doc: "2026-11-30T13:07:44.25011617Z", got: "2027-02-01T09:00:00Z", fits: true},
		{name: "a time the request sent", doc: expiry, got: "2027-02-01T00:00:00Z", sent: map[string]bool{expiry: true}},
		{name: "a time the request sent, unchanged", doc: expiry, got: expiry, sent: map[string]bool{expiry: true}, fits: true},
		{name: "a revision", doc: "store revision 5ca093f6a899b779 by ops", got: "store revision 0f1e2d3c4b5a6978 by ops", fits: true},
		{name: "a cursor is no revision", doc: "00000000000000000028", got: "00000000000000000029"},
		{name: "an id is no time", doc: docID, got: expiry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := r.match(tc.doc, tc.got, tc.sent)
			if fits := why == ""; fits != tc.fits {
				t.Errorf("match(%q, %q) fits = %v (%s), want %v", tc.doc, tc.got, fits, why, tc.fits)
			}
		})
	}
}
