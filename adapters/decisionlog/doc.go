// Package decisionlog writes every decision as one JSON line, to stdout,
// files, or both (issue 4, R7).
//
// A Logger is an engine.DecisionObserver: the decision path only hands it
// an entry through a bounded buffer and never waits. When the buffer is
// full the entry is dropped and counted (Dropped), so that a slow disk can
// never slow a decision. One goroutine encodes the entries, masks the
// configured fields with "***", and writes them to every sink.
//
// ReadEntries reads such a log back; `gatehouse policy replay` uses it to
// re-decide logged decisions with a candidate policy.
package decisionlog
