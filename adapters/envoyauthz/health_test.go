package envoyauthz_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse/gatehouse/adapters/envoyauthz"
	"github.com/gatehouse/gatehouse/engine"
)

// R45: the standard gRPC health check says SERVING while the engine is
// ready and NOT_SERVING once its store is down, for the server as a whole
// ("") and for the authorization service; watchers are told of the change;
// Shutdown makes it NOT_SERVING for good.
func TestHealth(t *testing.T) {
	store := demoStore(t)
	f := serve(t, store, compile(t, nil), []engine.Option{engine.WithReadyTimeout(5 * time.Second)},
		envoyauthz.WithHealthInterval(20*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.authz.WatchHealth(ctx)

	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := f.health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		return resp.GetStatus()
	}
	for _, service := range []string{"", envoyauthz.ServiceName} {
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check(service), "service %q", service)
	}

	watch, err := f.health.Watch(ctx, &healthpb.HealthCheckRequest{Service: envoyauthz.ServiceName})
	require.NoError(t, err)
	first, err := watch.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, first.GetStatus())

	require.NoError(t, store.Close())
	down := time.Now()
	for _, service := range []string{"", envoyauthz.ServiceName} {
		assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check(service), "service %q with the store closed", service)
	}
	next, err := watch.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, next.GetStatus(), "the watcher is told")
	t.Logf("the watcher was told NOT_SERVING %.1f ms after the store closed (poll interval 20ms)", float64(time.Since(down).Microseconds())/1000)
}

// After Shutdown the health is NOT_SERVING even though the engine is ready,
// so Envoy drains the server before it stops.
func TestHealthAfterShutdown(t *testing.T) {
	f := serve(t, demoStore(t), compile(t, nil), nil)
	resp, err := f.health.Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	f.authz.Shutdown()
	resp, err = f.health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: envoyauthz.ServiceName})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, resp.GetStatus())
}

// An unknown service is NOT_FOUND, as the standard health service answers.
func TestHealthUnknownService(t *testing.T) {
	f := serve(t, demoStore(t), compile(t, nil), nil)
	_, err := f.health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "nope"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NotFound")
}
