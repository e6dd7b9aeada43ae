package envoyauthz_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gatehouse/gatehouse/adapters/envoyauthz"
)

// The Envoy configuration the README shows is a valid Envoy bootstrap, by
// go-control-plane's protos and Envoy's validation rules, and it points the
// ext_authz filter at gatehouse's gRPC cluster, denies when gatehouse is
// unreachable, and health-checks the authorization service.
func TestReadmeEnvoyConfig(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, found := strings.Cut(string(readme), "### Behind Envoy or Istio")
	require.True(t, found, "the README has the section")
	m := regexp.MustCompile("(?s)```yaml\n(static_resources:.*?)```").FindStringSubmatch(section)
	require.NotNil(t, m, "the section shows an Envoy bootstrap")

	var doc any
	require.NoError(t, yaml.Unmarshal([]byte(m[1]), &doc))
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	var boot bootstrapv3.Bootstrap
	require.NoError(t, protojson.Unmarshal(raw, &boot), "the README's Envoy config")
	require.NoError(t, boot.ValidateAll())

	var authz *extauthzv3.ExtAuthz
	for _, l := range boot.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				require.NoError(t, f.GetTypedConfig().UnmarshalTo(&hcm))
				require.NoError(t, hcm.ValidateAll())
				assert.True(t, hcm.GetNormalizePath().GetValue(), "normalize_path")
				assert.True(t, hcm.GetMergeSlashes(), "merge_slashes")
				for _, hf := range hcm.GetHttpFilters() {
					if hf.GetName() == "envoy.filters.http.ext_authz" {
						authz = &extauthzv3.ExtAuthz{}
						require.NoError(t, hf.GetTypedConfig().UnmarshalTo(authz))
						require.NoError(t, authz.ValidateAll())
					}
				}
			}
		}
	}
	require.NotNil(t, authz, "an ext_authz filter")
	assert.False(t, authz.GetFailureModeAllow(), "failure_mode_allow: false")
	cluster := authz.GetGrpcService().GetEnvoyGrpc().GetClusterName()
	require.NotEmpty(t, cluster)

	var checked bool
	for _, c := range boot.GetStaticResources().GetClusters() {
		if c.GetName() != cluster {
			continue
		}
		for _, hc := range c.GetHealthChecks() {
			assert.Equal(t, envoyauthz.ServiceName, hc.GetGrpcHealthCheck().GetServiceName())
			checked = true
		}
		assert.Contains(t, c.GetTypedExtensionProtocolOptions(), "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "gRPC needs HTTP/2")
	}
	assert.True(t, checked, "the %s cluster is health-checked over gRPC", cluster)
}
