// Package events turns what the back office records into security events
// for a company's SIEM, in the Open Cybersecurity Schema Framework (OCSF
// 1.2): every audit entry (FromAudit) and every login outcome the audit
// log does not hold (FromLogin). The mapping of each action to its OCSF
// class and activity is the table in docs/events.md; a test checks every
// event of every action against the OCSF class definitions.
//
// Events never carry a secret: an audit entry holds none, and a login
// outcome names its operator, never what was typed.
package events

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// SchemaVersion is the OCSF version the events follow.
const SchemaVersion = "1.2.0"

// The OCSF categories and classes the events use.
const (
	CategoryIAM         = 3
	CategoryApplication = 6

	ClassAccountChange        = 3001 // an operator's account: created, enabled, disabled, locked, its password or MFA
	ClassAuthentication       = 3002 // a logon, refused or not
	ClassEntityManagement     = 3004 // a record the back office manages: an end user, a device, a role, the tenant
	ClassUserAccessManagement = 3005 // roles and privileges granted or removed
	ClassAPIActivity          = 6003 // a call of the host's own back end
)

// Severity and status ids of the base event.
const (
	SeverityInformational = 1
	SeverityLow           = 2
	SeverityMedium        = 3
	SeverityHigh          = 4
	SeverityCritical      = 5

	StatusSuccess = 1
	StatusFailure = 2
)

// Event is an OCSF event: the base event's attributes and the objects the
// classes used here take. It encodes as OCSF JSON.
type Event struct {
	ClassUID     int    `json:"class_uid"`
	ClassName    string `json:"class_name"`
	CategoryUID  int    `json:"category_uid"`
	CategoryName string `json:"category_name"`
	ActivityID   int    `json:"activity_id"`
	ActivityName string `json:"activity_name"`
	TypeUID      int    `json:"type_uid"`
	TypeName     string `json:"type_name"`
	SeverityID   int    `json:"severity_id"`
	Severity     string `json:"severity"`
	StatusID     int    `json:"status_id"`
	Status       string `json:"status"`
	StatusDetail string `json:"status_detail,omitempty"`
	// Time is when it happened, in milliseconds since the epoch.
	Time     int64    `json:"time"`
	Message  string   `json:"message,omitempty"`
	Metadata Metadata `json:"metadata"`
	Actor    *Actor   `json:"actor,omitempty"`
	User     *User    `json:"user,omitempty"`
	Entity   *Entity  `json:"entity,omitempty"`
	// API and SrcEndpoint are an API Activity's call and caller.
	API         *API      `json:"api,omitempty"`
	SrcEndpoint *Endpoint `json:"src_endpoint,omitempty"`
	// Privileges are what a User Access Management event granted or took.
	Privileges []string `json:"privileges,omitempty"`
	// Unmapped holds what OCSF has no attribute for: the changed fields.
	Unmapped map[string]any `json:"unmapped,omitempty"`
}

// Metadata is the event's origin and place in its tenant's history.
type Metadata struct {
	Product Product `json:"product"`
	Version string  `json:"version"`
	// UID is the event's stable id: the audit entry's, or the login
	// outcome's; a redelivered event has the same.
	UID       string `json:"uid"`
	TenantUID string `json:"tenant_uid,omitempty"`
	// Sequence is the audit entry's number in its tenant's hash chain.
	Sequence int64 `json:"sequence,omitempty"`
	// EventCode is the back office's own name of what happened, such as
	// "operator.block".
	EventCode string `json:"event_code,omitempty"`
	// Labels carry the entry's chain hash ("chain_hash:…").
	Labels      []string `json:"labels,omitempty"`
	LoggedTime  int64    `json:"logged_time,omitempty"`
	LogName     string   `json:"log_name,omitempty"`
	LogProvider string   `json:"log_provider,omitempty"`
}

// Product names the back office.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

// Actor is who acted.
type Actor struct {
	User    *User  `json:"user,omitempty"`
	AppName string `json:"app_name,omitempty"`
}

// User is an operator, an end user or an identity provider's account.
type User struct {
	UID    string `json:"uid,omitempty"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type,omitempty"`
	TypeID int    `json:"type_id,omitempty"`
}

// Entity is a record the back office manages.
type Entity struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// API is an API call.
type API struct {
	Operation string   `json:"operation"`
	Service   *Service `json:"service,omitempty"`
}

// Service names a service.
type Service struct {
	Name string `json:"name,omitempty"`
}

// Endpoint is a network endpoint: a caller.
type Endpoint struct {
	Name string `json:"name,omitempty"`
	IP   string `json:"ip,omitempty"`
}

// product is the back office as every event names it.
var product = Product{Name: "backoffice", VendorName: "backoffice-go"}

// mapping is where an action goes in OCSF.
type mapping struct {
	class, activity int
	severity        int
	status          int
}

// activities are the activity names of the classes used, by class.
var activities = map[int]map[int]string{
	ClassAccountChange: {1: "Create", 2: "Enable", 3: "Password Change", 4: "Password Reset", 5: "Disable", 6: "Delete",
		9: "Lock", 10: "MFA Factor Enable", 11: "MFA Factor Disable", 99: "Other"},
	ClassAuthentication:       {1: "Logon", 2: "Logoff", 6: "Preauth", 99: "Other"},
	ClassEntityManagement:     {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"},
	ClassUserAccessManagement: {1: "Assign Privileges", 2: "Revoke Privileges", 99: "Other"},
	ClassAPIActivity:          {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"},
}

var classNames = map[int]string{ClassAccountChange: "Account Change", ClassAuthentication: "Authentication",
	ClassEntityManagement: "Entity Management", ClassUserAccessManagement: "User Access Management", ClassAPIActivity: "API Activity"}

var severityNames = map[int]string{SeverityInformational: "Informational", SeverityLow: "Low", SeverityMedium: "Medium", SeverityHigh: "High", SeverityCritical: "Critical"}

var statusNames = map[int]string{StatusSuccess: "Success", StatusFailure: "Failure"}

func ok(class, activity, severity int) mapping {
	return mapping{class: class, activity: activity, severity: severity, status: StatusSuccess}
}

// actions maps each action of the audit log; one not listed is an Entity
// Management "Other" (a test keeps the list whole).
var actions = map[backoffice.Action]mapping{
	backoffice.ActionTenantCreate:    ok(ClassEntityManagement, 1, SeverityLow),
	backoffice.ActionTenantConfigure: ok(ClassEntityManagement, 3, SeverityMedium),
	backoffice.ActionRoleCreate:      ok(ClassEntityManagement, 1, SeverityMedium),
	backoffice.ActionRoleUpdate:      ok(ClassEntityManagement, 3, SeverityMedium),

	backoffice.ActionOperatorCreate:            ok(ClassAccountChange, 1, SeverityLow),
	backoffice.ActionOperatorInvite:            ok(ClassAccountChange, 1, SeverityLow),
	backoffice.ActionOperatorDuplicate:         ok(ClassAccountChange, 1, SeverityLow),
	backoffice.ActionOperatorResendInvitation:  ok(ClassAccountChange, 99, SeverityInformational),
	backoffice.ActionOperatorAcceptInvitation:  ok(ClassAccountChange, 2, SeverityLow),
	backoffice.ActionOperatorUpdate:            ok(ClassAccountChange, 99, SeverityMedium),
	backoffice.ActionOperatorDeactivate:        ok(ClassAccountChange, 5, SeverityMedium),
	backoffice.ActionOperatorReactivate:        ok(ClassAccountChange, 2, SeverityMedium),
	backoffice.ActionOperatorBlock:             ok(ClassAccountChange, 9, SeverityHigh),
	backoffice.ActionOperatorUnblock:           ok(ClassAccountChange, 2, SeverityMedium),
	backoffice.ActionOperatorResetMFA:          ok(ClassAccountChange, 11, SeverityHigh),
	backoffice.ActionOperatorDelete:            ok(ClassAccountChange, 6, SeverityMedium),
	backoffice.ActionOperatorSetPassword:       ok(ClassAccountChange, 4, SeverityMedium),
	backoffice.ActionOperatorChangePassword:    ok(ClassAccountChange, 3, SeverityLow),
	backoffice.ActionOperatorSendPasswordReset: ok(ClassAccountChange, 4, SeverityLow),
	backoffice.ActionOperatorForgotPassword:    ok(ClassAccountChange, 4, SeverityLow),
	backoffice.ActionOperatorResetPassword:     ok(ClassAccountChange, 4, SeverityMedium),
	backoffice.ActionOperatorLoginPrepare:      ok(ClassAuthentication, 6, SeverityInformational),
	backoffice.ActionOperatorMFAEnrol:          ok(ClassAccountChange, 10, SeverityLow),
	backoffice.ActionOperatorLogin:             ok(ClassAuthentication, 1, SeverityInformational),
	backoffice.ActionOperatorSSOProvision:      ok(ClassAccountChange, 1, SeverityLow),
	backoffice.ActionOperatorSSOUpdate:         ok(ClassAccountChange, 99, SeverityLow),
	backoffice.ActionOperatorSSORefused:        {class: ClassAuthentication, activity: 1, severity: SeverityMedium, status: StatusFailure},
	backoffice.ActionOperatorPasskeyAdd:        ok(ClassAccountChange, 10, SeverityLow),
	backoffice.ActionOperatorPasskeyUse:        ok(ClassAuthentication, 1, SeverityInformational),
	backoffice.ActionOperatorPasskeyCloned:     {class: ClassAuthentication, activity: 1, severity: SeverityHigh, status: StatusFailure},
	backoffice.ActionOperatorPasskeyRevoke:     ok(ClassAccountChange, 11, SeverityMedium),
	backoffice.ActionOperatorSCIMCreate:        ok(ClassAccountChange, 1, SeverityLow),
	backoffice.ActionOperatorSCIMUpdate:        ok(ClassAccountChange, 99, SeverityLow),
	backoffice.ActionOperatorSCIMDeprovision:   ok(ClassAccountChange, 5, SeverityMedium),
	backoffice.ActionSCIMTokenCreate:           ok(ClassEntityManagement, 1, SeverityHigh),
	backoffice.ActionSCIMTokenActivate:         ok(ClassEntityManagement, 3, SeverityHigh),
	backoffice.ActionSCIMTokenRevoke:           ok(ClassEntityManagement, 4, SeverityMedium),
	backoffice.ActionSCIMGroupCreate:           ok(ClassEntityManagement, 1, SeverityLow),
	backoffice.ActionSCIMGroupUpdate:           ok(ClassEntityManagement, 3, SeverityLow),
	backoffice.ActionSCIMGroupDelete:           ok(ClassEntityManagement, 4, SeverityLow),

	backoffice.ActionEndUserCreate:             ok(ClassEntityManagement, 1, SeverityInformational),
	backoffice.ActionEndUserUpdate:             ok(ClassEntityManagement, 3, SeverityInformational),
	backoffice.ActionEndUserAddTaxResidence:    ok(ClassEntityManagement, 3, SeverityInformational),
	backoffice.ActionEndUserUpdateTaxResidence: ok(ClassEntityManagement, 3, SeverityInformational),
	backoffice.ActionEndUserRemoveTaxResidence: ok(ClassEntityManagement, 3, SeverityInformational),
	backoffice.ActionEndUserDeactivate:         ok(ClassEntityManagement, 3, SeverityLow),
	backoffice.ActionEndUserForgotPassword:     ok(ClassEntityManagement, 99, SeverityInformational),
	backoffice.ActionEndUserKYCRequest:         ok(ClassEntityManagement, 3, SeverityInformational),
	backoffice.ActionEndUserKYCOutcome:         ok(ClassEntityManagement, 3, SeverityLow),
	backoffice.ActionOnboardingStart:           ok(ClassEntityManagement, 1, SeverityInformational),
	backoffice.ActionOnboardingComplete:        ok(ClassEntityManagement, 3, SeverityInformational),

	backoffice.ActionDeviceEnrol:       ok(ClassEntityManagement, 1, SeverityInformational),
	backoffice.ActionDeviceSetPasscode: ok(ClassEntityManagement, 3, SeverityInformational),
	backoffice.ActionDeviceLock:        ok(ClassEntityManagement, 3, SeverityMedium),
	backoffice.ActionDeviceUnlock:      ok(ClassEntityManagement, 3, SeverityMedium),
	backoffice.ActionDeviceResetPIN:    ok(ClassEntityManagement, 3, SeverityMedium),
	backoffice.ActionDeviceDelete:      ok(ClassEntityManagement, 4, SeverityLow),

	backoffice.ActionApprovalRequest:  ok(ClassEntityManagement, 1, SeverityLow),
	backoffice.ActionApprovalApprove:  ok(ClassEntityManagement, 3, SeverityMedium),
	backoffice.ActionApprovalReject:   ok(ClassEntityManagement, 3, SeverityLow),
	backoffice.ActionApprovalDone:     ok(ClassEntityManagement, 3, SeverityMedium),
	backoffice.ActionOperatorGrantEnd: ok(ClassUserAccessManagement, 2, SeverityLow),
	backoffice.ActionOperatorElevate:  ok(ClassUserAccessManagement, 1, SeverityHigh),
	backoffice.ActionReviewStart:      ok(ClassEntityManagement, 1, SeverityInformational),
	backoffice.ActionReviewDecide:     ok(ClassEntityManagement, 3, SeverityLow),
	backoffice.ActionReviewClose:      ok(ClassEntityManagement, 3, SeverityInformational),
}

// MappingOf is where an action goes: its OCSF class, activity, severity
// and status, and whether the action has a mapping of its own (one
// without is an Entity Management "Other").
func MappingOf(a backoffice.Action) (class, activity, severity, status int, own bool) {
	m, own := actions[a]
	if !own {
		m = mapping{class: ClassEntityManagement, activity: 99, severity: SeverityInformational, status: StatusSuccess}
	}
	return m.class, m.activity, m.severity, m.status, own
}

// newEvent fills the base event's classification.
func newEvent(class, activity, severity, status int, at time.Time) Event {
	category := class / 1000
	e := Event{ClassUID: class, ClassName: classNames[class], CategoryUID: category, ActivityID: activity,
		ActivityName: activities[class][activity], TypeUID: class*100 + activity, SeverityID: severity,
		Severity: severityNames[severity], StatusID: status, Status: statusNames[status], Time: at.UnixMilli(),
		Metadata: Metadata{Product: product, Version: SchemaVersion, LogName: "audit", LogProvider: "backoffice"}}
	switch category {
	case CategoryIAM:
		e.CategoryName = "Identity & Access Management"
	case CategoryApplication:
		e.CategoryName = "Application Activity"
	}
	e.TypeName = e.ClassName + ": " + e.ActivityName
	return e
}

// actorOf is who acted; OCSF's user type ids: 1 a user, 3 a system.
func actorOf(a backoffice.ActorRef) *Actor {
	switch a.Kind {
	case backoffice.ActorSystem:
		return &Actor{AppName: a.Name, User: &User{UID: a.ID, Name: a.Name, Type: "System", TypeID: 3}}
	case backoffice.ActorIdentityProvider:
		return &Actor{AppName: "identity provider", User: &User{UID: a.ID, Name: a.Name, Type: "System", TypeID: 3}}
	}
	return &Actor{User: &User{UID: a.ID, Name: a.Name, Type: "User", TypeID: 1}}
}

// FromAudit is the event of an audit entry. Its uid is the entry's id, its
// sequence and chain hash the entry's place in its tenant's chain.
func FromAudit(e backoffice.AuditEntry) Event {
	class, activity, severity, status, _ := MappingOf(e.Action)
	privileges, revoked := accessChanges(e)
	if class == ClassAccountChange && activity == 99 && len(privileges) > 0 {
		// An update that changed roles or account access: what was granted
		// or taken.
		class, activity, severity = ClassUserAccessManagement, 1, SeverityMedium
		if revoked {
			activity = 2
		}
	}
	ev := newEvent(class, activity, severity, status, e.At)
	ev.Message = string(e.Action) + " " + e.TargetType + " " + e.TargetID
	ev.Metadata.UID, ev.Metadata.TenantUID, ev.Metadata.Sequence = e.ID, string(e.Tenant), e.Seq
	ev.Metadata.EventCode = string(e.Action)
	if e.Hash != "" {
		ev.Metadata.Labels = []string{"chain_hash:" + e.Hash}
	}
	if class == ClassUserAccessManagement {
		// OCSF 1.2's User Access Management has no actor: it goes with
		// the unmapped attributes.
		if len(privileges) == 0 {
			privileges = []string{string(e.Action)}
		}
		ev.Privileges = privileges
		ev.Unmapped = map[string]any{"actor": actorOf(e.Actor)}
	} else {
		ev.Actor = actorOf(e.Actor)
	}
	switch class {
	case ClassEntityManagement:
		ev.Entity = &Entity{UID: e.TargetID, Type: e.TargetType, Name: e.TargetType + " " + e.TargetID}
	default: // the account an IAM event is about
		ev.User = &User{UID: e.TargetID, Type: "User", TypeID: 1}
		if e.TargetID == "" {
			ev.User.UID = e.Actor.ID
		}
	}
	for _, c := range e.Changes {
		if c.Field == "source" && category(class) == CategoryIAM {
			if ip := ipOf(c.After); ip != "" {
				ev.SrcEndpoint = &Endpoint{IP: ip} // where a login came from
			}
		}
	}
	if len(e.Changes) > 0 {
		changes := make([]map[string]string, 0, len(e.Changes))
		for _, c := range e.Changes {
			changes = append(changes, map[string]string{"field": c.Field, "before": c.Before, "after": c.After})
		}
		if ev.Unmapped == nil {
			ev.Unmapped = map[string]any{}
		}
		ev.Unmapped["changes"], ev.Unmapped["target_type"] = changes, e.TargetType
	}
	return ev
}

func category(class int) int { return class / 1000 }

// ipOf is the IP address of a client address ("ip" or "ip:port"), empty
// when it holds none.
func ipOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if ip, err := netip.ParseAddr(addr); err == nil {
		return ip.String()
	}
	return ""
}

// accessFields are the fields of an operator whose change grants or takes
// access.
var accessFields = map[string]bool{"roles": true, "role_until": true, "all_accounts": true, "accounts": true, "access_until": true, "groups": true}

// accessChanges are an entry's changes of access, as privileges ("roles:
// administrator,manager"), and whether they only took access away.
func accessChanges(e backoffice.AuditEntry) (privileges []string, revoked bool) {
	revoked = true
	for _, c := range e.Changes {
		if !accessFields[c.Field] {
			continue
		}
		privileges = append(privileges, c.Field+": "+c.After)
		if c.After != "" && c.After != "false" && !strings.HasPrefix(c.Before, c.After) {
			revoked = false
		}
	}
	return privileges, revoked && len(privileges) > 0
}

// FromLogin is the event of an outcome the audit log does not hold (the
// accessctl.Config.Events hook's): a refused password or code (an
// Authentication Logon that failed), a session ended by a logout or a
// revocation (a Logoff), and a verification that found the audit chain
// broken (a critical Entity Management Read that failed). A success, a
// lockout and a refused sign-in through the identity provider are audit
// entries (FromAudit); for those FromLogin returns false. id is the
// event's stable id, at when it happened.
func FromLogin(e accessctl.Event, id string, at time.Time) (Event, bool) {
	var ev Event
	switch e.Kind {
	case accessctl.EventLoginRefused, accessctl.EventMFAFailed:
		ev = newEvent(ClassAuthentication, 1, SeverityLow, StatusFailure, at)
		ev.StatusDetail = "password refused"
		if e.Kind == accessctl.EventMFAFailed {
			ev.StatusDetail = "second factor refused"
		}
	case accessctl.EventSessionEnded:
		ev = newEvent(ClassAuthentication, 2, SeverityInformational, StatusSuccess, at)
		ev.StatusDetail = "session ended"
	case accessctl.EventChainBroken:
		ev = newEvent(ClassEntityManagement, 2, SeverityCritical, StatusFailure, at)
		ev.StatusDetail = "audit chain broken"
		ev.Entity = &Entity{UID: string(e.Tenant), Type: "audit chain", Name: "audit chain of " + string(e.Tenant)}
		ev.Actor = &Actor{AppName: "backoffice", User: &User{UID: "system:verify", Name: "audit verification", Type: "System", TypeID: 3}}
	default:
		return Event{}, false
	}
	if e.Reason != "" {
		ev.StatusDetail += ": " + e.Reason
	}
	ev.Metadata.UID, ev.Metadata.TenantUID, ev.Metadata.EventCode = id, string(e.Tenant), "operator."+string(e.Kind)
	ev.Metadata.LogName = "login"
	ev.Message = ev.StatusDetail
	if e.Kind == accessctl.EventChainBroken {
		ev.Metadata.EventCode, ev.Metadata.LogName = "audit.chain_broken", "audit"
		return ev, true
	}
	// The user is the operator the login named, when it names one; an
	// unknown login is named by nothing (no typed name is ever sent).
	ev.User = &User{UID: string(e.Operator), Type: "User", TypeID: 1}
	if e.Operator == "" {
		ev.User = &User{Name: "unknown", Type: "Unknown", TypeID: 0}
	}
	return ev, true
}
