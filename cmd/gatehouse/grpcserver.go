package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/gatehouse/gatehouse/adapters/envoyauthz"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
)

// grpcServer is the gRPC server of --grpc-addr: Envoy's external
// authorization and the gRPC health service (adapters/envoyauthz).
type grpcServer struct {
	srv   *grpc.Server
	authz *envoyauthz.Server
	ln    net.Listener
	errc  chan error
	stop  context.CancelFunc
}

// startGRPC listens on addr and serves Envoy's external authorization with
// eng, verifying bearer tokens with verifier (nil: none verify), over TLS
// with tlsConfig when it is not nil (--tls-cert-file, as HTTP). It returns
// nil when addr is "": no gRPC server.
func startGRPC(addr string, eng *engine.Engine, verifier httpapi.Verifier, tlsConfig *tls.Config, log *slog.Logger) (*grpcServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--grpc-addr: %w", err)
	}
	opts := []envoyauthz.Option{envoyauthz.WithLogger(log)}
	if verifier != nil {
		opts = append(opts, envoyauthz.WithVerifier(verifier))
	}
	var serverOpts []grpc.ServerOption
	if tlsConfig != nil {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	g := &grpcServer{srv: grpc.NewServer(serverOpts...), authz: envoyauthz.New(eng, opts...), ln: ln, errc: make(chan error, 1)}
	g.authz.Register(g.srv)
	var ctx context.Context
	ctx, g.stop = context.WithCancel(context.Background())
	go g.authz.WatchHealth(ctx)
	go func() { g.errc <- g.srv.Serve(ln) }()
	return g, nil
}

// addr is the address the server listens on ("" when there is none).
func (g *grpcServer) addr() string {
	if g == nil {
		return ""
	}
	return g.ln.Addr().String()
}

// failed is where Serve's error arrives should the server fail; nil (never
// ready) when there is no server.
func (g *grpcServer) failed() <-chan error {
	if g == nil {
		return nil
	}
	return g.errc
}

// shutdown reports NOT_SERVING, stops accepting and lets in-flight Checks
// finish for at most grace (--http-shutdown-timeout), then closes what is
// still open. Calling it again does nothing more.
func (g *grpcServer) shutdown(grace time.Duration, log *slog.Logger) {
	if g == nil {
		return
	}
	g.stop()
	g.authz.Shutdown()
	done := make(chan struct{})
	go func() {
		g.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		log.Warn("gRPC calls still in flight after --http-shutdown-timeout: closing their connections", "grace", grace)
		g.srv.Stop()
		<-done
	}
}
