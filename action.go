package backoffice

// Action names what an audit entry records: the record's type, a dot, the
// verb. Every action the module records is one of the constants below,
// which is the whole list an auditor needs.
type Action string

// Tenants and roles.
const (
	ActionTenantCreate    Action = "tenant.create"    // a tenant and its first Administrator were set up
	ActionTenantConfigure Action = "tenant.configure" // SSO, group mapping or a setting changed
	ActionRoleCreate      Action = "role.create"      // a custom role was added
	ActionRoleUpdate      Action = "role.update"      // a custom role's permissions or description changed
)

// Operators.
const (
	ActionOperatorCreate            Action = "operator.create"              // created with an initial password
	ActionOperatorInvite            Action = "operator.invite"              // created and sent an invitation link
	ActionOperatorDuplicate         Action = "operator.duplicate"           // invited with another operator's grantable roles
	ActionOperatorResendInvitation  Action = "operator.resend_invitation"   // a new link was sent; earlier ones void
	ActionOperatorAcceptInvitation  Action = "operator.accept_invitation"   // the link was followed: email verified, password set
	ActionOperatorUpdate            Action = "operator.update"              // identity, SSO key, roles or account access changed
	ActionOperatorDeactivate        Action = "operator.deactivate"          // access removed, sessions ended
	ActionOperatorReactivate        Action = "operator.reactivate"          // access restored
	ActionOperatorBlock             Action = "operator.block"               // blocked by a manager, or by the login after too many failures
	ActionOperatorUnblock           Action = "operator.unblock"             // unblocked, failed logins cleared
	ActionOperatorResetMFA          Action = "operator.reset_mfa"           // TOTP enrolment cleared
	ActionOperatorDelete            Action = "operator.delete"              // removed for good; its history stays
	ActionOperatorSetPassword       Action = "operator.set_password"        // a manager set the password
	ActionOperatorChangePassword    Action = "operator.change_password"     // the operator changed its own password
	ActionOperatorSendPasswordReset Action = "operator.send_password_reset" // a manager sent a reset link
	ActionOperatorForgotPassword    Action = "operator.forgot_password"     // the login page sent a reset link
	ActionOperatorResetPassword     Action = "operator.reset_password"      // a reset link was followed
	ActionOperatorLoginPrepare      Action = "operator.login_prepare"       // a right password: rehash or first MFA secret
	ActionOperatorMFAEnrol          Action = "operator.mfa_enrol"           // the first right TOTP code completed enrolment
	ActionOperatorLogin             Action = "operator.login"               // a complete login opened a session
	ActionOperatorSSOProvision      Action = "operator.sso_provision"       // created from an identity provider's assertion
	ActionOperatorSSOUpdate         Action = "operator.sso_update"          // updated from an identity provider's assertion
	ActionOperatorSSORefused        Action = "operator.sso_refused"         // an identity provider's sign-in was refused; the reason is recorded
	ActionOperatorPasskeyAdd        Action = "operator.passkey_add"         // the operator registered a passkey
	ActionOperatorPasskeyUse        Action = "operator.passkey_use"         // a passkey signed a login in (its counter and last use recorded)
	ActionOperatorPasskeyCloned     Action = "operator.passkey_cloned"      // a passkey's counter went backwards: flagged as cloned, the login refused
	ActionOperatorPasskeyRevoke     Action = "operator.passkey_revoke"      // a passkey was removed
	ActionOperatorSCIMCreate        Action = "operator.scim_create"         // created by the identity provider over SCIM
	ActionOperatorSCIMUpdate        Action = "operator.scim_update"         // changed by the identity provider over SCIM (groups, identity, active)
	ActionOperatorSCIMDeprovision   Action = "operator.scim_deprovision"    // deactivated by the identity provider (active false, removed from every mapped group, or deleted); sessions ended
)

// Identity provider credentials and groups.
const (
	ActionSCIMTokenCreate   Action = "scim_token.create"   // a SCIM token was issued (shown once; its digest kept)
	ActionSCIMTokenActivate Action = "scim_token.activate" // a token issued while Administrator grants were held was approved
	ActionSCIMTokenRevoke   Action = "scim_token.revoke"   // a SCIM token stopped working
	ActionSCIMGroupCreate   Action = "scim_group.create"   // the identity provider made a group known (it maps to no role until an Administrator maps it)
	ActionSCIMGroupUpdate   Action = "scim_group.update"   // the identity provider renamed a group; what it maps to and its members followed
	ActionSCIMGroupDelete   Action = "scim_group.delete"   // the identity provider removed a group; its members lost what it mapped to
)

// End users.
const (
	ActionEndUserCreate             Action = "enduser.create"
	ActionEndUserUpdate             Action = "enduser.update"
	ActionEndUserAddTaxResidence    Action = "enduser.tax_residence.add"
	ActionEndUserUpdateTaxResidence Action = "enduser.tax_residence.update"
	ActionEndUserRemoveTaxResidence Action = "enduser.tax_residence.remove"
	ActionEndUserDeactivate         Action = "enduser.deactivate"
	ActionEndUserForgotPassword     Action = "enduser.forgot_password" // the forgot-password email was sent
	ActionEndUserKYCRequest         Action = "enduser.kyc_request"
	ActionEndUserKYCOutcome         Action = "enduser.kyc_outcome"
	ActionOnboardingStart           Action = "onboarding.start"
	ActionOnboardingComplete        Action = "onboarding.complete"
)

// SCA devices.
const (
	ActionDeviceEnrol       Action = "scadevice.enrol"
	ActionDeviceSetPasscode Action = "scadevice.set_passcode"
	ActionDeviceLock        Action = "scadevice.lock"
	ActionDeviceUnlock      Action = "scadevice.unlock"
	ActionDeviceResetPIN    Action = "scadevice.reset_pin"
	ActionDeviceDelete      Action = "scadevice.delete"
)

// Approvals, time-bound access and access reviews.
const (
	ActionApprovalRequest  Action = "approval.request"   // an action was held for a second operator, with its reason
	ActionApprovalApprove  Action = "approval.approve"   // a second operator approved; the action runs once
	ActionApprovalReject   Action = "approval.reject"    // a second operator refused it
	ActionApprovalDone     Action = "approval.done"      // the approved action ran, or failed a rule at that moment
	ActionOperatorGrantEnd Action = "operator.grant_end" // a time-bound role or account access reached its end
	ActionOperatorElevate  Action = "operator.elevate"   // a break-glass role granted for hours, on approval
	ActionReviewStart      Action = "review.start"       // an access review campaign listed the tenant's operators
	ActionReviewDecide     Action = "review.decide"      // a reviewer certified or revoked one operator's access
	ActionReviewClose      Action = "review.close"       // every line was decided; the result is kept
)
