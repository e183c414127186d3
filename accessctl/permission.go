package accessctl

import (
	"fmt"
	"strings"

	"github.com/backoffice-go/backoffice"
)

// Permission names one thing an operator may see or do, such as
// "enduser.deactivate". The built-in permissions are the constants below;
// hosts add their own through NewCatalog.
type Permission string

// The built-in permissions, by area. Together the operator-management
// ones are the operator-management operator-management permission.
const (
	// Views: the dashboard pages an operator may open.
	PermViewSearchUsers        Permission = "view.search_users"
	PermViewProfilesBoard      Permission = "view.profiles_board"
	PermViewAllUsers           Permission = "view.all_users"
	PermViewCreateUser         Permission = "view.create_user"
	PermViewDocsPrereview      Permission = "view.docs_prereview"
	PermViewAllCards           Permission = "view.all_cards"
	PermViewAllCardTransaction Permission = "view.all_card_transactions"
	PermViewBulkCards          Permission = "view.bulk_cards"
	PermViewOnboardingUsers    Permission = "view.onboarding_users"
	PermViewOperators          Permission = "view.operators"

	// End-user actions.
	PermEndUserRead            Permission = "enduser.read"
	PermEndUserCreate          Permission = "enduser.create"
	PermEndUserEdit            Permission = "enduser.edit"
	PermEndUserOrganizeProfile Permission = "enduser.organize_profile"
	PermEndUserDeactivate      Permission = "enduser.deactivate"
	PermEndUserForgotPassword  Permission = "enduser.forgot_password"
	PermEndUserKYCRequest      Permission = "enduser.kyc_request"
	PermEndUserKYCDecide       Permission = "enduser.kyc_decide"

	// SCA device actions.
	PermDeviceRead     Permission = "scadevice.read"
	PermDeviceLock     Permission = "scadevice.lock"
	PermDeviceUnlock   Permission = "scadevice.unlock"
	PermDeviceResetPIN Permission = "scadevice.reset_pin"
	PermDeviceDelete   Permission = "scadevice.delete"

	// Money-side permissions the presets grant; the library itself does not
	// implement beneficiaries, transfers or cards, but hosts that do check these.
	PermBeneficiaryRead   Permission = "beneficiary.read"
	PermBeneficiaryManage Permission = "beneficiary.manage"
	PermTransferRead      Permission = "transfer.read"
	PermTransferCreate    Permission = "transfer.create"
	PermCardRead          Permission = "card.read"
	PermCardBulkCreate    Permission = "card.bulk_create"

	// Operator management: together these are the operator-management
	// permission.
	PermOperatorRead          Permission = "operator.read"
	PermOperatorCreate        Permission = "operator.create"
	PermOperatorEdit          Permission = "operator.edit"
	PermOperatorDeactivate    Permission = "operator.deactivate"
	PermOperatorDelete        Permission = "operator.delete"
	PermOperatorBlock         Permission = "operator.block"
	PermOperatorResetMFA      Permission = "operator.reset_mfa"
	PermOperatorPasswordReset Permission = "operator.password_reset"
	PermOperatorHistory       Permission = "operator.history"
	PermOperatorSessions      Permission = "operator.sessions"

	// Tenant configuration.
	PermRoleManage      Permission = "role.manage"
	PermTenantConfigure Permission = "tenant.configure"
	PermAuditRead       Permission = "audit.read"
)

// PermissionInfo describes a permission for a catalog and for a UI.
type PermissionInfo struct {
	Name Permission `json:"name"`
	// Kind is "view" for a dashboard page and "action" for anything else;
	// the documented matrices have one table of each.
	Kind        string `json:"kind"`
	Description string `json:"description"`
}

// builtinPermissions lists the library's permissions in documentation order.
func builtinPermissions() []PermissionInfo {
	v := func(p Permission, d string) PermissionInfo { return PermissionInfo{p, "view", d} }
	a := func(p Permission, d string) PermissionInfo { return PermissionInfo{p, "action", d} }
	return []PermissionInfo{
		v(PermViewSearchUsers, "Search users"),
		v(PermViewProfilesBoard, "Profiles board"),
		v(PermViewAllUsers, "All users"),
		v(PermViewCreateUser, "Create a new user"),
		v(PermViewDocsPrereview, "User documents pending pre-review"),
		v(PermViewAllCards, "All cards"),
		v(PermViewAllCardTransaction, "All card transactions"),
		v(PermViewBulkCards, "Bulk cards"),
		v(PermViewOnboardingUsers, "Onboarding users"),
		v(PermViewOperators, "Operators (dashboard users)"),
		a(PermEndUserRead, "Read end users"),
		a(PermEndUserCreate, "Create end users"),
		a(PermEndUserEdit, "Edit end-user information and tax residences"),
		a(PermEndUserOrganizeProfile, "Organize profile elements"),
		a(PermEndUserDeactivate, "Deactivate end users"),
		a(PermEndUserForgotPassword, "Send forgot-password email to end users"),
		a(PermEndUserKYCRequest, "Request a KYC review"),
		a(PermEndUserKYCDecide, "Record a KYC outcome"),
		a(PermDeviceRead, "Read SCA devices"),
		a(PermDeviceLock, "Secure (lock) SCA on a device"),
		a(PermDeviceUnlock, "Unlock SCA on a device"),
		a(PermDeviceResetPIN, "Reset the PIN of a device"),
		a(PermDeviceDelete, "Delete SCA on a device"),
		a(PermBeneficiaryRead, "Read beneficiaries"),
		a(PermBeneficiaryManage, "Create and manage beneficiaries"),
		a(PermTransferRead, "Read transfers"),
		a(PermTransferCreate, "Create transfers"),
		a(PermCardRead, "Read cards"),
		a(PermCardBulkCreate, "Bulk-create cards"),
		a(PermOperatorRead, "Read operators"),
		a(PermOperatorCreate, "Create, invite and duplicate operators"),
		a(PermOperatorEdit, "Edit operators, their roles and account access"),
		a(PermOperatorDeactivate, "Deactivate and reactivate operators"),
		a(PermOperatorDelete, "Delete operators"),
		a(PermOperatorBlock, "Block and unblock operators"),
		a(PermOperatorResetMFA, "Reset an operator's MFA"),
		a(PermOperatorPasswordReset, "Send an operator a password reset"),
		a(PermOperatorHistory, "Read an operator's history"),
		a(PermOperatorSessions, "List and revoke operators' sessions"),
		a(PermRoleManage, "Manage custom roles"),
		a(PermTenantConfigure, "Configure the tenant (SSO, settings)"),
		a(PermAuditRead, "Read the audit log"),
	}
}

// maxPermissions is the size of a catalog's bitset.
const maxPermissions = 256

// permSet is a compiled set of permissions of one catalog: one bit each.
type permSet [maxPermissions / 64]uint64

func (s *permSet) set(i uint16)      { s[i>>6] |= 1 << (i & 63) }
func (s *permSet) has(i uint16) bool { return s[i>>6]&(1<<(i&63)) != 0 }
func (s *permSet) union(o *permSet)  { s[0] |= o[0]; s[1] |= o[1]; s[2] |= o[2]; s[3] |= o[3] }

// minus returns the permissions of s that o lacks.
func (s *permSet) minus(o *permSet) permSet {
	return permSet{s[0] &^ o[0], s[1] &^ o[1], s[2] &^ o[2], s[3] &^ o[3]}
}
func (s *permSet) intersects(o *permSet) bool {
	return s[0]&o[0] != 0 || s[1]&o[1] != 0 || s[2]&o[2] != 0 || s[3]&o[3] != 0
}
func (s *permSet) subsetOf(o *permSet) bool {
	return s[0]&^o[0] == 0 && s[1]&^o[1] == 0 && s[2]&^o[2] == 0 && s[3]&^o[3] == 0
}

// Catalog is the immutable set of permissions known to a service: the
// built-in ones and the host's. It assigns each a bit, so that an
// authorization check is a map lookup and a bit test.
type Catalog struct {
	perms  []PermissionInfo
	index  map[Permission]uint16
	denied []error // the refusal of each permission, built once
}

// deniedError is the refusal of an actor that lacks p.
func deniedError(p Permission) error {
	return backoffice.Errorf(backoffice.ErrForbidden, "accessctl: authorize",
		"permission %s is required; ask an operator manager for a role that grants it", p)
}

// NewCatalog returns a catalog of the built-in permissions followed by the
// host's extra ones. Names must be non-empty, lower case "area.verb", and
// unique.
func NewCatalog(extra ...PermissionInfo) (*Catalog, error) {
	all := append(builtinPermissions(), extra...)
	if len(all) > maxPermissions {
		return nil, backoffice.Errorf(backoffice.ErrInvalid, "accessctl: new catalog", "at most %d permissions", maxPermissions)
	}
	c := &Catalog{perms: all, index: make(map[Permission]uint16, len(all))}
	for i, p := range all {
		if !validPermissionName(string(p.Name)) {
			return nil, backoffice.NewError(backoffice.ErrInvalid, "accessctl: new catalog", fmt.Sprintf("permission %q must look like area.verb", p.Name), backoffice.FieldViolation{Field: "permission", Reason: "must look like area.verb"})
		}
		if _, dup := c.index[p.Name]; dup {
			return nil, backoffice.NewError(backoffice.ErrConflict, "accessctl: new catalog", fmt.Sprintf("permission %q registered twice", p.Name), backoffice.FieldViolation{Field: "permission", Reason: "duplicate"})
		}
		if p.Kind == "" {
			c.perms[i].Kind = "action"
		}
		c.index[p.Name] = uint16(i)
		c.denied = append(c.denied, deniedError(p.Name))
	}
	return c, nil
}

func validPermissionName(s string) bool {
	dot := strings.IndexByte(s, '.')
	if dot <= 0 || dot == len(s)-1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Permissions returns the catalog's permissions in order.
func (c *Catalog) Permissions() []PermissionInfo { return append([]PermissionInfo(nil), c.perms...) }

// Has reports whether the catalog knows p.
func (c *Catalog) Has(p Permission) bool { _, ok := c.index[p]; return ok }

// compile turns permission names into a set; unknown names are an error.
func (c *Catalog) compile(perms []Permission) (permSet, error) {
	var s permSet
	var v backoffice.Violations
	for _, p := range perms {
		i, ok := c.index[p]
		if !ok {
			v.Add("permissions", fmt.Sprintf("unknown permission %q", p))
			continue
		}
		s.set(i)
	}
	return s, v.Err("accessctl: compile role")
}
