package accessctl_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/accessctl"
)

var update = flag.Bool("update", false, "rewrite PERMISSIONS.md from the code")

const docHeader = `# Permission matrices

Generated from the code by ` + "`go test ./accessctl -run TestPermissionsDoc -update`" + `; a test fails
when this file and the code disagree. An ` + "`x`" + ` means the role holds the permission.

A role may be granted by an operator who holds it, or who holds every permission it
grants (A5); only an Administrator may grant the Administrator role (A4).

`

func renderDoc(t *testing.T) string {
	t.Helper()
	cat, err := accessctl.NewCatalog()
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString(docHeader)
	for i, p := range accessctl.Presets() {
		md, err := p.Markdown(cat)
		require.NoError(t, err)
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(md)
	}
	return b.String()
}

// A2: the presets' matrices are written out in PERMISSIONS.md, and the
// file is kept in sync with the code.
func TestPermissionsDoc(t *testing.T) {
	want := renderDoc(t)
	if *update {
		require.NoError(t, os.WriteFile("PERMISSIONS.md", []byte(want), 0o644))
	}
	got, err := os.ReadFile("PERMISSIONS.md")
	require.NoError(t, err)
	require.Equal(t, want, string(got), "PERMISSIONS.md is stale: run go test ./accessctl -run TestPermissionsDoc -update")
}

// documented parses PERMISSIONS.md into preset → role → permission → held.
func documented(t *testing.T) map[string]map[accessctl.RoleName]map[accessctl.Permission]bool {
	t.Helper()
	raw, err := os.ReadFile("PERMISSIONS.md")
	require.NoError(t, err)
	out := map[string]map[accessctl.RoleName]map[accessctl.Permission]bool{}
	var preset string
	abbrevs := map[string]accessctl.RoleName{}
	var columns []accessctl.RoleName
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "## Preset "):
			preset = strings.Trim(strings.TrimPrefix(line, "## Preset "), `"`)
			out[preset] = map[accessctl.RoleName]map[accessctl.Permission]bool{}
			abbrevs = map[string]accessctl.RoleName{}
		case strings.HasPrefix(line, "| `") && len(cells(line)) == 3 && columns == nil:
			c := cells(line)
			role := accessctl.RoleName(strings.Trim(c[0], "`"))
			abbrevs[c[1]] = role
			out[preset][role] = map[accessctl.Permission]bool{}
		case strings.HasPrefix(line, "| Permission |"):
			columns = nil
			for _, ab := range cells(line)[2:] {
				columns = append(columns, abbrevs[ab])
			}
		case strings.HasPrefix(line, "| `") && columns != nil:
			c := cells(line)
			perm := accessctl.Permission(strings.Trim(c[0], "`"))
			for i, role := range columns {
				out[preset][role][perm] = c[2+i] == "x"
			}
		case line == "" && columns != nil:
			columns = nil
		}
	}
	return out
}

func cells(line string) []string {
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// A2: every role × every permission of each preset, checked through a
// real session against the documented matrix.
func TestPresetMatrix(t *testing.T) {
	doc := documented(t)
	cat, err := accessctl.NewCatalog()
	require.NoError(t, err)
	for _, p := range accessctl.Presets() {
		t.Run(p.Name, func(t *testing.T) {
			e := newEnv(t, p.Name)
			require.Len(t, doc[p.Name], len(p.Roles), "every role is documented")
			for _, r := range p.Roles {
				ctx, _ := e.as("m_"+string(r.Name), r.Name)
				a, ok := accessctl.ActorFrom(ctx)
				require.True(t, ok)
				for _, info := range cat.Permissions() {
					want, listed := doc[p.Name][r.Name][info.Name]
					require.True(t, listed, "%s is documented for %s", info.Name, r.Name)
					assert.Equal(t, want, a.Can(info.Name), "%s/%s: %s", p.Name, r.Name, info.Name)
					assert.Equal(t, want, a.Authorize(info.Name) == nil)
				}
			}
		})
	}
}

// A2: the matrices are sensible: read-only roles only read, only Manager
// and Administrator manage operators, only Administrator configures,
// manages roles and bulk-creates cards.
func TestPresetMatrixIsSensible(t *testing.T) {
	doc := documented(t)
	isRead := func(p accessctl.Permission) bool {
		return strings.HasPrefix(string(p), "view.") || strings.HasSuffix(string(p), ".read")
	}
	for preset, roles := range doc {
		for role, perms := range roles {
			for p, held := range perms {
				if !held {
					continue
				}
				if role == accessctl.RoleReadOnly || role == accessctl.RolePortalViewer {
					assert.True(t, isRead(p), "%s/%s is read-only but holds %s", preset, role, p)
				}
				if strings.HasPrefix(string(p), "operator.") || p == accessctl.PermViewOperators {
					assert.Contains(t, []accessctl.RoleName{accessctl.RoleManager, accessctl.RoleAdministrator, accessctl.RolePortalAdmin}, role,
						"%s/%s manages operators", preset, role)
				}
				if p == accessctl.PermTenantConfigure || p == accessctl.PermCardBulkCreate || p == accessctl.PermRoleManage {
					assert.Contains(t, []accessctl.RoleName{accessctl.RoleAdministrator, accessctl.RolePortalAdmin}, role,
						"%s/%s holds %s", preset, role, p)
				}
			}
		}
	}
	// Editors edit; transfer-only creates transfers and edits no user.
	d := doc[accessctl.PresetDashboard]
	assert.True(t, d[accessctl.RoleBasicEditor][accessctl.PermEndUserEdit])
	assert.False(t, d[accessctl.RoleBasicEditor][accessctl.PermOperatorCreate])
	assert.True(t, d[accessctl.RoleTransferOnly][accessctl.PermTransferCreate])
	assert.False(t, d[accessctl.RoleTransferOnly][accessctl.PermEndUserEdit])
	assert.True(t, d[accessctl.RoleUserBeneficiary][accessctl.PermBeneficiaryManage])
	assert.False(t, d[accessctl.RoleUserManagement][accessctl.PermBeneficiaryManage])
	// Each role of the eight is a superset of read-only.
	for role, perms := range d {
		for p, held := range d[accessctl.RoleReadOnly] {
			if held {
				assert.True(t, perms[p], "%s lacks read permission %s", role, p)
			}
		}
	}
}
