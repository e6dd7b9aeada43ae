package redis

import (
	"context"
	"encoding/json"

	"github.com/gatehouse/gatehouse/engine"
)

// WatchPolicy subscribes to the activation channel and delivers every
// activation published by any replica until ctx ends, then closes the
// channel. It returns once Redis has confirmed the subscription, so every
// activation made afterwards is delivered. After a lost connection go-redis
// reconnects and subscribes again by itself; activations published while it
// was away are missed, which is why readers also poll ActivePolicy.
func (s *Store) WatchPolicy(ctx context.Context) (<-chan engine.PolicyActivation, error) {
	// Only subscribing is bounded by the read timeout; the subscription
	// lives until ctx ends.
	subscribing, cancel := s.reading(ctx)
	defer cancel()
	sub := s.client.Subscribe(subscribing, s.keys.policyChannel())
	if _, err := sub.Receive(subscribing); err != nil {
		_ = sub.Close() // the subscription failed: nothing is left to release
		return nil, wrap("watch policy", err)
	}
	messages := sub.Channel()
	out := make(chan engine.PolicyActivation)
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-messages:
				if !ok {
					return
				}
				var a engine.PolicyActivation
				if json.Unmarshal([]byte(msg.Payload), &a) != nil {
					continue // not an activation this store published
				}
				select {
				case out <- a:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
