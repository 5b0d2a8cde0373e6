# Opens a session from the jump host to an Exchange server's own remoting endpoint
# (http://<server>/PowerShell/, configuration Microsoft.Exchange, Kerberos; docs/exchange.md, "Exchange
# Server endpoint") and imports its recipient cmdlets with the prefix OnPrem (Get-OnPremMailbox,
# Get-OnPremRemoteMailbox, Get-OnPremMailUser), so they never shadow the Exchange Online cmdlets of the
# same names. psbridge runs it once per runspace (psbridge.exchange.connection.connect_exchange_server);
# -Disconnect removes the session when psbridge closes.
#
# Kerberos from the jump host to the Exchange server is a second hop: the account psbridge signs in
# with must be delegable to the server (resource-based constrained delegation), or psbridge must reach
# the jump host with CredSSP.
#
# Scope: psbridge runs every script in a scope of its own, and Import-PSSession imports its proxy module
# into the caller's scope, where the OnPrem commands would end with this script. So the module is
# imported again with Import-Module -Global (and the prefix again: Import-Module applies a prefix when it
# imports, https://learn.microsoft.com/powershell/module/microsoft.powershell.core/import-module), and
# Invoke-ExchangeCommand.ps1 finds the commands in later calls on the same runspace. What this script
# leaves in the runspace on purpose: that module's commands (Get-OnPremMailbox, Get-OnPremRemoteMailbox,
# Get-OnPremMailUser) and the session, $global:PsbridgeExchangeServerSession. -Disconnect removes both.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9][A-Za-z0-9.-]*$')][string]$Server,
    [switch]$Disconnect
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

if ($Disconnect) {
    $imported = Get-Command -Name 'Get-OnPremMailbox' -CommandType Function -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -ne $imported -and $null -ne $imported.Module) {
        Remove-Module -ModuleInfo $imported.Module -Force
    }
    if ($null -ne $global:PsbridgeExchangeServerSession) {
        Remove-PSSession -Session $global:PsbridgeExchangeServerSession
        $global:PsbridgeExchangeServerSession = $null
    }
    return
}

$session = New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri "http://$Server/PowerShell/" -Authentication Kerberos
$global:PsbridgeExchangeServerSession = $session
$commands = 'Get-Mailbox', 'Get-RemoteMailbox', 'Get-MailUser'
$module = Import-PSSession -Session $session -Prefix OnPrem -CommandName $commands -DisableNameChecking -AllowClobber
Import-Module -ModuleInfo $module -Global -Prefix OnPrem -DisableNameChecking
