/// The ActiveSync tags Latchkey speaks, by code page (MS-ASWBXML 2.1.2.1). Tokens checked
/// against the specification's tables as php-horde-activesync 2.41 and libwbxml2 carry them
/// (wbxml2xml -l ACTIVESYNC decodes what the encoder writes); AccountOnlyRemoteWipe (16.1, 0x3B)
/// is in neither and was checked against MS-ASPROV 2.2.2.1 and two public EAS implementations.
public enum Provision {
    static let page: UInt8 = 14
    public static let provision = WBXMLTag(page: page, token: 0x05)
    public static let policies = WBXMLTag(page: page, token: 0x06)
    public static let policy = WBXMLTag(page: page, token: 0x07)
    public static let policyType = WBXMLTag(page: page, token: 0x08)
    public static let policyKey = WBXMLTag(page: page, token: 0x09)
    public static let data = WBXMLTag(page: page, token: 0x0A)
    public static let status = WBXMLTag(page: page, token: 0x0B)
    public static let remoteWipe = WBXMLTag(page: page, token: 0x0C)
    public static let provisionDoc = WBXMLTag(page: page, token: 0x0D)
    public static let accountOnlyRemoteWipe = WBXMLTag(page: page, token: 0x3B)

    /// The names of the EASProvisionDoc settings, tokens 0x0E...0x3A (MS-ASWBXML code page 14).
    static let settingNames: [String] = [
        "DevicePasswordEnabled", "AlphanumericDevicePasswordRequired", "DeviceEncryptionEnabled",
        "PasswordRecoveryEnabled", "DocumentBrowseEnabled", "AttachmentsEnabled", "MinDevicePasswordLength",
        "MaxInactivityTimeDeviceLock", "MaxDevicePasswordFailedAttempts", "MaxAttachmentSize",
        "AllowSimpleDevicePassword", "DevicePasswordExpiration", "DevicePasswordHistory", "AllowStorageCard",
        "AllowCamera", "RequireDeviceEncryption", "AllowUnsignedApplications",
        "AllowUnsignedInstallationPackages", "MinDevicePasswordComplexCharacters", "AllowWiFi",
        "AllowTextMessaging", "AllowPOPIMAPEmail", "AllowBluetooth", "AllowIrDA", "RequireManualSyncWhenRoaming",
        "AllowDesktopSync", "MaxCalendarAgeFilter", "AllowHTMLEmail", "MaxEmailAgeFilter",
        "MaxEmailBodyTruncationSize", "MaxHTMLBodyTruncationSize", "RequireSignedSMIMEMessages",
        "RequireEncryptedSMIMEMessages", "RequireSignedSMIMEAlgorithm", "RequireEncryptedSMIMEAlgorithm",
        "AllowSMIMEEncryptionAlgorithmNegotiation", "AllowSMIMESoftCerts", "AllowBrowser", "AllowConsumerEmail",
        "AllowRemoteDesktop", "AllowInternetSharing", "UnapprovedInROMApplicationList", "ApplicationName",
        "ApprovedApplicationList", "Hash",
    ]

    /// The setting's name for a token on this page, or nil.
    static func settingName(_ token: UInt8) -> String? {
        let index = Int(token) - 0x0E
        return settingNames.indices.contains(index) ? settingNames[index] : nil
    }
}

/// FolderHierarchy (code page 7), for the FolderSync check.
public enum FolderHierarchy {
    static let page: UInt8 = 7
    public static let folderSync = WBXMLTag(page: page, token: 0x16)
    public static let status = WBXMLTag(page: page, token: 0x0C)
    public static let syncKey = WBXMLTag(page: page, token: 0x12)
}
