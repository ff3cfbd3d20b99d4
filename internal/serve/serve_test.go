package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/httpapi"
)

func TestLoadKeysRefusesMistakesNamingTheField(t *testing.T) {
	for _, tc := range []struct{ name, file, msg string }{
		{"misspelt shop field", `{"shops":[{"id":"a","write_key":"w"},{"id":"b","writekey":"w2"}]}`, `shops[1]: unknown field "writekey"`},
		{"misspelt top field", `{"adminkey":"x","shops":[]}`, `unknown field "adminkey"`},
		{"shop id with a space", `{"shops":[{"id":"my shop","write_key":"w"}]}`, `shops[0].id: "my shop" may hold only letters, digits and . _ : -`},
		{"empty shop id", `{"shops":[{"write_key":"w"}]}`, `shops[0].id: "" is required`},
		{"unknown zone", `{"shops":[{"id":"a","timezone":"Europe/Berln"}]}`, `shops[0].timezone: unknown time zone "Europe/Berln"`},
		{"wrong type", `{"shops":[{"id":7}]}`, `shops[0]: cannot unmarshal number`},
		{"trailing data", `{"shops":[]}}`, `data after the JSON object`},
		{"two objects", `{"shops":[]} {"shops":[]}`, `data after the JSON object`},
		{"not JSON", `shops: []`, `config`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o600))
			_, err := LoadKeys(path, nil)
			require.ErrorContains(t, err, tc.msg)
			require.ErrorContains(t, err, path, "the error names the file")
		})
	}
}

func TestLoadKeysTakesTheDocumentedFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"admin_key":"ak","shops":[{"id":"shop-1","write_key":"w","read_key":"r",
		"shopify_secret":"s","shopify_domain":"example.myshopify.com","timezone":"Europe/Berlin"}]}`), 0o600))
	k, err := LoadKeys(path, nil)
	require.NoError(t, err)
	require.Equal(t, Keys{AdminKey: "ak", Shops: []httpapi.Shop{{ID: "shop-1", WriteKey: "w", ReadKey: "r",
		ShopifySecret: "s", ShopifyDomain: "example.myshopify.com", Timezone: "Europe/Berlin"}}}, k)

	var out strings.Builder
	k, err = LoadKeys("", &out)
	require.NoError(t, err)
	require.Equal(t, DemoKeys, k)
	require.Contains(t, out.String(), "wk_demo")
}
