package embedded

import (
	"context"
	"sync"

	"github.com/gatehouse/gatehouse/engine"
)

// watchBuffer is how many activations a watcher may leave unread before the
// oldest unread one is dropped for the newest.
const watchBuffer = 16

// hub fans policy activations out to the watchers of one store.
type hub struct {
	mu       sync.Mutex
	watchers map[chan engine.PolicyActivation]struct{}
}

func newHub() *hub {
	return &hub{watchers: map[chan engine.PolicyActivation]struct{}{}}
}

// subscribe registers a watcher until ctx ends, when its channel is closed.
func (h *hub) subscribe(ctx context.Context) <-chan engine.PolicyActivation {
	ch := make(chan engine.PolicyActivation, watchBuffer)
	h.mu.Lock()
	h.watchers[ch] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.watchers, ch)
		close(ch)
	})
	return ch
}

// publish runs write and, when it succeeds, hands a to every watcher. The
// lock spans both, so watchers see activations in the order they were
// written. A watcher never blocks the publisher: when its buffer is full its
// oldest unread activation is dropped, so the latest one always arrives.
func (h *hub) publish(a engine.PolicyActivation, write func() error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := write(); err != nil {
		return err
	}
	for ch := range h.watchers {
		select {
		case ch <- a:
			continue
		default:
		}
		select {
		case <-ch:
		default:
		}
		ch <- a // room was made above, and only publish sends, under h.mu
	}
	return nil
}
