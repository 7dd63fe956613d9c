"""What each published attribute means (RFC 7643 §7 ``description``), for the Schemas endpoint.

The wording is RFC 7643 §8.7.1's, keyed by schema URN and the attribute's dotted path, with
erratum 6007 applied (``preferredLanguage``: "en-US", not "en_US"). The few attributes the
service has that §8.7.1 leaves out (``externalId``, ``addresses.primary``, ``groups.primary``,
``members.display``)
are described in the RFC's words for them elsewhere (§3.1, §4.1.2, §8.4) or in the same style.
Kept beside the facade rather than in the domain catalogue: it is SCIM's prose for SCIM clients.
"""

from __future__ import annotations

from collections.abc import Mapping

from scim_facade.filters import CORE_GROUP_URN, CORE_USER_URN, ENTERPRISE_URN

__all__ = ["ATTRIBUTE_DESCRIPTIONS", "SCHEMA_DESCRIPTIONS"]

SCHEMA_DESCRIPTIONS: Mapping[str, str] = {
    CORE_USER_URN: "User Account",
    CORE_GROUP_URN: "Group",
    ENTERPRISE_URN: "Enterprise User",
}

_EXTERNAL_ID = "A String that is an identifier for the resource as defined by the provisioning client (RFC 7643 §3.1)."

ATTRIBUTE_DESCRIPTIONS: Mapping[str, Mapping[str, str]] = {
    CORE_USER_URN: {
        "userName": (
            "Unique identifier for the User, typically used by the user to directly authenticate to the service "
            "provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the "
            "service provider's entire set of Users. REQUIRED."
        ),
        "name": (
            "The components of the user's real name. Providers MAY return just the full name as a single string in the "
            "formatted sub-attribute, or they MAY return just the individual component attributes using the other "
            "sub-attributes, or they MAY return both. If both variants are returned, they SHOULD be describing the same"
            " name, with the formatted name indicating how the component attributes should be combined."
        ),
        "name.formatted": (
            "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display "
            "(e.g., 'Ms. Barbara J Jensen, III')."
        ),
        "name.familyName": (
            "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name "
            "'Ms. Barbara J Jensen, III')."
        ),
        "name.givenName": (
            "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name "
            "'Ms. Barbara J Jensen, III')."
        ),
        "name.middleName": (
            "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."
        ),
        "name.honorificPrefix": (
            "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name "
            "'Ms. Barbara J Jensen, III')."
        ),
        "name.honorificSuffix": (
            "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name"
            " 'Ms. Barbara J Jensen, III')."
        ),
        "displayName": (
            "The name of the User, suitable for display to end-users. The name SHOULD be the full name of the User "
            "being described, if known."
        ),
        "nickName": (
            "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'. This "
            "attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge')."
        ),
        "profileUrl": "A fully qualified URL pointing to a page representing the User's online profile.",
        "title": 'The user\'s title, such as "Vice President."',
        "userType": (
            "Used to identify the relationship between the organization and the user. Typical values used might be "
            "'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used."
        ),
        "preferredLanguage": (
            "Indicates the User's preferred written or spoken language. Generally used for selecting a localized user "
            "interface; e.g., 'en-US' specifies the language English and country US."
        ),
        "locale": (
            "Used to indicate the User's default location for purposes of localizing items such as currency, date time "
            "format, or numerical representations."
        ),
        "timezone": "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'.",
        "active": "A Boolean value indicating the User's administrative status.",
        "password": (
            "The User's cleartext password. This attribute is intended to be used as a means to specify an initial "
            "password when creating a new User or to reset an existing User's password."
        ),
        "emails": (
            "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., "
            "'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and "
            "'other'."
        ),
        "emails.value": (
            "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., "
            "'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and "
            "'other'."
        ),
        "emails.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "emails.type": "A label indicating the attribute's function, e.g., 'work' or 'home'.",
        "emails.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the "
            "preferred mailing address or primary email address. The primary attribute value 'true' MUST appear no more"
            " than once."
        ),
        "phoneNumbers": (
            "Phone numbers for the User. The value SHOULD be canonicalized by the service provider according to the "
            "format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', "
            "'mobile', 'fax', 'pager', and 'other'."
        ),
        "phoneNumbers.value": "Phone number of the User.",
        "phoneNumbers.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "phoneNumbers.type": "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
        "phoneNumbers.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the "
            "preferred phone number or primary phone number. The primary attribute value 'true' MUST appear no more "
            "than once."
        ),
        "ims": "Instant messaging addresses for the User.",
        "ims.value": "Instant messaging address for the User.",
        "ims.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "ims.type": "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
        "ims.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the "
            "preferred messenger or primary messenger. The primary attribute value 'true' MUST appear no more than "
            "once."
        ),
        "photos": "URLs of photos of the User.",
        "photos.value": "URL of a photo of the User.",
        "photos.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "photos.type": "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
        "photos.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the "
            "preferred photo or thumbnail. The primary attribute value 'true' MUST appear no more than once."
        ),
        "addresses": (
            "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'. This "
            "attribute is a complex type with the following sub-attributes."
        ),
        "addresses.formatted": (
            "The full mailing address, formatted for display or use with a mailing label. This attribute MAY contain "
            "newlines."
        ),
        "addresses.streetAddress": (
            "The full street address component, which may include house number, street name, P.O. box, and multi-line "
            "extended street address information. This attribute MAY contain newlines."
        ),
        "addresses.locality": "The city or locality component.",
        "addresses.region": "The state or region component.",
        "addresses.postalCode": "The zip code or postal code component.",
        "addresses.country": "The country name component.",
        "addresses.type": "A label indicating the attribute's function, e.g., 'work' or 'home'.",
        # §4.1.2 gives addresses a "primary" sub-attribute that §8.7.1 leaves out.
        "addresses.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the "
            "preferred mailing address. The primary attribute value 'true' MUST appear no more than once."
        ),
        "groups": (
            "A list of groups to which the user belongs, either through direct membership, through nested groups, or "
            "dynamically calculated."
        ),
        "groups.value": "The identifier of the User's group.",
        "groups.$ref": "The URI of the corresponding 'Group' resource to which the user belongs.",
        "groups.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "groups.type": "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
        # Not in §8.7.1: the service keeps it because every multi-valued attribute of §2.4 may have one.
        "groups.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary "
            "attribute value 'true' MUST appear no more than once."
        ),
        "entitlements": "A list of entitlements for the User that represent a thing the User has.",
        "entitlements.value": "The value of an entitlement.",
        "entitlements.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "entitlements.type": "A label indicating the attribute's function.",
        "entitlements.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary "
            "attribute value 'true' MUST appear no more than once."
        ),
        "roles": (
            "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'."
        ),
        "roles.value": "The value of a role.",
        "roles.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "roles.type": "A label indicating the attribute's function.",
        "roles.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary "
            "attribute value 'true' MUST appear no more than once."
        ),
        "x509Certificates": "A list of certificates issued to the User.",
        "x509Certificates.value": "The value of an X.509 certificate.",
        "x509Certificates.display": "A human-readable name, primarily used for display purposes. READ-ONLY.",
        "x509Certificates.type": "A label indicating the attribute's function.",
        "x509Certificates.primary": (
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary "
            "attribute value 'true' MUST appear no more than once."
        ),
        "externalId": _EXTERNAL_ID,
    },
    CORE_GROUP_URN: {
        "displayName": "A human-readable name for the Group. REQUIRED.",
        "members": "A list of members of the Group.",
        "members.value": "Identifier of the member of this Group.",
        "members.$ref": "The URI corresponding to a SCIM resource that is a member of this Group.",
        "members.type": "A label indicating the type of resource, e.g., 'User' or 'Group'.",
        # §8.7.1 omits it; §8.4's example Group shows it on every member.
        "members.display": "A human-readable name for the member, primarily used for display purposes. READ-ONLY.",
        "externalId": _EXTERNAL_ID,
    },
    ENTERPRISE_URN: {
        "employeeNumber": (
            "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association "
            "with an organization."
        ),
        "costCenter": "Identifies the name of a cost center.",
        "organization": "Identifies the name of an organization.",
        "division": "Identifies the name of a division.",
        "department": "Identifies the name of a department.",
        "manager": (
            "The User's manager. A complex type that optionally allows service providers to represent organizational "
            "hierarchy by referencing the 'id' attribute of another User."
        ),
        "manager.value": "The id of the SCIM resource representing the User's manager. REQUIRED.",
        "manager.$ref": "The URI of the SCIM resource representing the User's manager. REQUIRED.",
        "manager.displayName": "The displayName of the User's manager. OPTIONAL and READ-ONLY.",
    },
}
