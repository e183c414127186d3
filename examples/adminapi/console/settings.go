package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/backoffice-go/backoffice/accessctl"
)

// settingsData is the tenant's settings screen: its name, single sign-on
// and the mapping of the identity provider's groups to roles, one group a
// line ("group: role, role").
type settingsData struct {
	Tenant  *accessctl.Tenant
	Name    string
	SSO     bool
	Mapping string
	Roles   []accessctl.Role
	Fields  map[string]string
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request) {
	d, err := c.settings(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Name, d.SSO, d.Mapping = d.Tenant.Name, d.Tenant.SSO.Enabled, formatMapping(d.Tenant.SSO.GroupRoles)
	c.render(w, r, http.StatusOK, "settings", "Settings", d, "")
}

func (c *Console) settings(r *http.Request) (*settingsData, error) {
	t, err := c.cfg.Ops.Tenant(r.Context())
	if err != nil {
		return nil, err
	}
	roles, err := c.cfg.Ops.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	return &settingsData{Tenant: t, Roles: roles, Fields: map[string]string{}}, nil
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request) {
	d, err := c.settings(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Name, d.SSO, d.Mapping = strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("sso") == "on", r.PostFormValue("mapping")
	var version int64
	if _, err := fmt.Sscan(r.PostFormValue("version"), &version); err != nil {
		d.Fields["version"] = "reload the page"
	}
	mapping, bad := parseMapping(d.Mapping)
	if bad != "" {
		d.Fields["group_roles"] = bad
	}
	if len(d.Fields) == 0 {
		_, err = c.cfg.Ops.ConfigureTenant(r.Context(), accessctl.TenantSettings{Version: version, Name: &d.Name,
			SSO: &accessctl.SSOConfig{Enabled: d.SSO, GroupRoles: mapping}})
		if err == nil {
			http.Redirect(w, r, "/settings", http.StatusSeeOther)
			return
		}
		msg, ok := fieldErrors(err, d.Fields)
		if !ok {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusUnprocessableEntity, "settings", "Settings", d, msg)
		return
	}
	c.render(w, r, http.StatusUnprocessableEntity, "settings", "Settings", d, "Check the form.")
}

// parseMapping reads "group: role, role" lines; it says what is wrong
// with the first line it cannot read.
func parseMapping(text string) (map[string][]accessctl.RoleName, string) {
	out := map[string][]accessctl.RoleName{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		group, roles, ok := strings.Cut(line, ":")
		group = strings.TrimSpace(group)
		if !ok || group == "" {
			return nil, fmt.Sprintf("line %d: write it as group: role, role", i+1)
		}
		for _, role := range strings.Split(roles, ",") {
			if role = strings.TrimSpace(role); role != "" {
				out[group] = append(out[group], accessctl.RoleName(role))
			}
		}
		if len(out[group]) == 0 {
			return nil, fmt.Sprintf("line %d: name at least one role for %s", i+1, group)
		}
	}
	return out, ""
}

func formatMapping(m map[string][]accessctl.RoleName) string {
	groups := make([]string, 0, len(m))
	for g := range m {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	var b strings.Builder
	for _, g := range groups {
		roles := make([]string, len(m[g]))
		for i, r := range m[g] {
			roles[i] = string(r)
		}
		fmt.Fprintf(&b, "%s: %s\n", g, strings.Join(roles, ", "))
	}
	return b.String()
}
