# Opens a session from the jump host to an Exchange server's own remoting endpoint
# (http://<server>/PowerShell/, configuration Microsoft.Exchange, Kerberos; exchange.md section 11) and
# imports its recipient cmdlets with the prefix OnPrem (Get-OnPremMailbox, Get-OnPremRemoteMailbox,
# Get-OnPremMailUser), so they never shadow the Exchange Online cmdlets of the same names.
# psbridge runs it once per runspace (psbridge.exchange.connection.connect_exchange_server);
# -Disconnect removes the session when psbridge closes.
#
# Kerberos from the jump host to the Exchange server is a second hop: the account psbridge signs in
# with must be delegable to the server (resource-based constrained delegation), or psbridge must reach
# the jump host with CredSSP.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9.-]*$')][string]$Server,
    [switch]$Disconnect
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

if ($Disconnect) {
    if ($null -ne $global:PsbridgeExchangeServerSession) {
        Remove-PSSession -Session $global:PsbridgeExchangeServerSession
        $global:PsbridgeExchangeServerSession = $null
    }
    return
}

$session = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri "http://$Server/PowerShell/" -Authentication Kerberos
$global:PsbridgeExchangeServerSession = $session
$commands = 'Get-Mailbox', 'Get-RemoteMailbox', 'Get-MailUser'
$null = Import-PSSession -Session $session -Prefix OnPrem -CommandName $commands -DisableNameChecking -AllowClobber
