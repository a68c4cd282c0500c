<?php
/*
 * The test ActiveSync server: php-horde-activesync (a real EAS server library, up to 16.0) over
 * its mock driver and SQLite state, run by `php -S 127.0.0.1:PORT front.php` (testenv
 * activesync.sh). Plain http on loopback only: Latchkey's rule is "https, or http to loopback".
 *
 *   /Microsoft-Server-ActiveSync   EAS (OPTIONS, Provision, FolderSync, ...). Every request must
 *                                  carry `Authorization: Bearer TOKEN`; the token is checked
 *                                  against the test provider's /userinfo (its `email` is the
 *                                  user), as Dovecot does in mail.sh.
 *   /admin/...                     test control, with `X-Admin-Key` (the file admin.key):
 *     POST /admin/policy           body: JSON object of EAS policy settings; every policy key is
 *                                  reset, so the next request gets 142 and must provision again
 *     POST /admin/wipe?device=ID   orders a remote wipe of the device (Horde's RemoteWipe)
 *     POST /admin/wipe?device=ID&mode=account   an account-only wipe (EAS 16.1), see below
 *     POST /admin/version?max=16.1 also offer 16.1 in OPTIONS (Horde stops at 16.0)
 *     GET  /admin/device?device=ID&user=U   JSON: rwstatus, policykey (the user's), acks (the Policy Status values
 *                                  the device sent in its acknowledgements), wipe_acks
 *
 * EAS 16.1's AccountOnlyRemoteWipe (MS-ASPROV 2.2.2.1, 3.1.5.1.2.3; token 0x3B on code page 14)
 * is not in Horde 2.41; this front answers it itself: while an account-only wipe is ordered, a
 * Provision request in 16.1 gets <Provision><Status>1</Status><Policies>…<AccountOnlyRemoteWipe/>
 * and the device's <Provision><AccountOnlyRemoteWipe><Status>1</Status>… is recorded (wipe_acks)
 * and marks the device wiped. Other commands get Horde's Status 140 (the wipe is pending there).
 *
 * Environment: AS_STATE (the state folder: eas.sqlite, policy.json, admin.key, eas.log),
 * AS_PROVIDER (the provider's base URL), AS_CA (its CA file).
 */

spl_autoload_register(function ($class) {
    $file = '/usr/share/php/' . str_replace(array('_', '\\'), '/', $class) . '.php';
    if (is_file($file)) {
        require_once $file;
    }
});
// Debian ships this class in no package (NOTES-linux.md); Horde throws it on a refused login.
if (!class_exists('Horde_Exception_AuthenticationFailure')) {
    class Horde_Exception_AuthenticationFailure extends Horde_Exception {}
}

$state_dir = getenv('AS_STATE');
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$db = new Horde_Db_Adapter_Pdo_Sqlite(array('dbname' => "$state_dir/eas.sqlite"));
$state = new Horde_ActiveSync_State_Sql(array('db' => $db));

function answer_json($code, $value)
{
    http_response_code($code);
    header('Content-Type: application/json');
    echo json_encode($value);
    exit;
}

function acks_file($device)
{
    return getenv('AS_STATE') . '/acks-' . preg_replace('/[^A-Za-z0-9]/', '_', $device) . '.json';
}

function account_wipe_file($device)
{
    return getenv('AS_STATE') . '/account-wipe-' . preg_replace('/[^A-Za-z0-9]/', '_', $device);
}

/* The account-only wipe of EAS 16.1, answered here (Horde 2.41 has no AccountOnlyRemoteWipe). */
function account_only_wipe($state, $device, $input)
{
    $ack = strpos($input, "\x45\x7B\x4B\x03");  // Provision, AccountOnlyRemoteWipe, Status, STR_I
    header('Content-Type: application/vnd.ms-sync.wbxml');
    header('MS-Server-ActiveSync: 16.1');
    $head = "\x03\x01\x6A\x00\x00\x0E\x45";
    if ($ack !== false) {
        $status = (int)substr($input, $ack + 4, 1);
        $acks = is_file(acks_file($device)) ? json_decode(file_get_contents(acks_file($device)), true) : array();
        $acks['wipe_acks'][] = $status;
        file_put_contents(acks_file($device), json_encode($acks));
        if ($status == 1) {
            $state->loadDeviceInfo($device);
            $state->setDeviceRWStatus($device, Horde_ActiveSync::RWSTATUS_WIPED);
            unlink(account_wipe_file($device));
        }
        echo $head . "\x4B\x031\x00\x01\x01";
        return;
    }
    $key = (string)mt_rand(100000000, 999999999);
    echo $head . "\x4B\x031\x00\x01"                      // Status 1
        . "\x46\x47\x48\x03MS-EAS-Provisioning-WBXML\x00\x01" // Policies, Policy, PolicyType
        . "\x4B\x031\x00\x01\x49\x03" . $key . "\x00\x01\x01\x01" // Status 1, PolicyKey
        . "\x3B"                                               // AccountOnlyRemoteWipe (empty)
        . "\x01";                                              // </Provision>
}

if (strpos($path, '/admin/') === 0) {
    $key = trim(file_get_contents("$state_dir/admin.key"));
    if (!hash_equals($key, isset($_SERVER['HTTP_X_ADMIN_KEY']) ? $_SERVER['HTTP_X_ADMIN_KEY'] : '')) {
        answer_json(403, array('error' => 'admin key'));
    }
    $device = isset($_GET['device']) ? Horde_String::upper($_GET['device']) : '';
    $user = isset($_GET['user']) ? $_GET['user'] : null;
    switch ($path) {
    case '/admin/policy':
        $policy = json_decode(file_get_contents('php://input'), true);
        if (!is_array($policy)) {
            answer_json(400, array('error' => 'policy must be a JSON object'));
        }
        file_put_contents("$state_dir/policy.json", json_encode($policy));
        $state->resetAllPolicyKeys();
        answer_json(200, array('ok' => true));
    case '/admin/wipe':
        if (!$state->deviceExists($device)) {
            answer_json(404, array('error' => 'no such device'));
        }
        $state->loadDeviceInfo($device);
        $state->setDeviceRWStatus($device, Horde_ActiveSync::RWSTATUS_PENDING);
        if (isset($_GET['mode']) && $_GET['mode'] === 'account') {
            touch(account_wipe_file($device));
        }
        answer_json(200, array('ok' => true));
    case '/admin/version':
        file_put_contents("$state_dir/max-version", isset($_GET['max']) && $_GET['max'] === '16.1' ? '16.1' : '16.0');
        answer_json(200, array('ok' => true));
    case '/admin/device':
        if (!$state->deviceExists($device)) {
            answer_json(404, array('error' => 'no such device'));
        }
        $state->loadDeviceInfo($device, $user);
        $acks = is_file(acks_file($device)) ? json_decode(file_get_contents(acks_file($device)), true) : array();
        answer_json(200, array(
            'rwstatus' => $state->getDeviceRWStatus($device),
            'policykey' => (string)$state->getPolicyKey($device),
            'acks' => isset($acks['acks']) ? $acks['acks'] : array(),
            'wipe_acks' => isset($acks['wipe_acks']) ? $acks['wipe_acks'] : array(),
        ));
    }
    answer_json(404, array('error' => 'no such admin endpoint'));
}

if ($path !== '/Microsoft-Server-ActiveSync') {
    http_response_code(404);
    exit;
}

// Bearer tokens only: asked of the provider's /userinfo, whose `email` is the user.
$auth = isset($_SERVER['HTTP_AUTHORIZATION']) ? $_SERVER['HTTP_AUTHORIZATION'] : '';
$user = null;
if (strncasecmp($auth, 'Bearer ', 7) === 0) {
    $context = stream_context_create(array(
        'http' => array('header' => "Authorization: $auth\r\n", 'ignore_errors' => true, 'timeout' => 10),
        'ssl' => array('cafile' => getenv('AS_CA'), 'verify_peer' => true),
    ));
    $body = @file_get_contents(getenv('AS_PROVIDER') . '/userinfo', false, $context);
    $status = isset($http_response_header[0]) ? $http_response_header[0] : '';
    if ($body !== false && strpos($status, ' 200') !== false) {
        $info = json_decode($body, true);
        if (is_array($info) && !empty($info['email'])) {
            $user = $info['email'];
        }
    }
}
if ($user === null) {
    http_response_code(401);
    header('WWW-Authenticate: Bearer realm="ActiveSync"');
    exit;
}
// Horde reads Basic credentials only: hand it the checked user with a one-request secret the
// driver below requires, so nothing but a checked token gets through.
$pass = bin2hex(random_bytes(16));
unset($_SERVER['HTTP_AUTHORIZATION']);
$_SERVER['PHP_AUTH_USER'] = $user;
$_SERVER['PHP_AUTH_PW'] = $pass;

class Latchkey_Test_Driver extends Horde_ActiveSync_Driver_Mock
{
    public $pass;
    public $policyFile;

    public function authenticate($username, $password, $domain = null)
    {
        if (!hash_equals($this->pass, (string)$password)) {
            return false;
        }
        return parent::authenticate($username, $password, $domain);
    }

    public function getUsernameFromEmail($email)
    {
        return $email;
    }

    public function getProvisioning($device = null)
    {
        return Horde_ActiveSync::PROVISIONING_FORCE;
    }

    public function getCurrentPolicy($device = null)
    {
        $policy = is_file($this->policyFile) ? json_decode(file_get_contents($this->policyFile), true) : null;
        return is_array($policy) ? $policy : array();
    }
}

// What the device acknowledges, recorded for the tests (read before Horde consumes the body).
$get_device = isset($_GET['DeviceId']) ? Horde_String::upper($_GET['DeviceId']) : '';
$cmd = isset($_GET['Cmd']) ? $_GET['Cmd'] : '';
$input = file_get_contents('php://input');
if ($cmd === 'Provision' && $get_device !== '' && $input !== '') {
    record_acknowledgement($get_device, $input);
}

function record_acknowledgement($device, $input)
{
    $stream = fopen('php://memory', 'w+');
    fwrite($stream, $input);
    rewind($stream);
    $decoder = new Horde_ActiveSync_Wbxml_Decoder($stream);
    $decoder->readWbxmlHeader();
    $path = array();
    $acks = is_file(acks_file($device)) ? json_decode(file_get_contents(acks_file($device)), true) : array();
    $seen = false;
    for ($i = 0; $i < 10000 && ($element = $decoder->getElement()) !== false; $i++) {
        if ($element[Horde_ActiveSync_Wbxml::EN_TYPE] == Horde_ActiveSync_Wbxml::EN_TYPE_STARTTAG) {
            $path[] = $element[Horde_ActiveSync_Wbxml::EN_TAG];
            if (empty($element[Horde_ActiveSync_Wbxml::EN_FLAGS] & Horde_ActiveSync_Wbxml::EN_FLAGS_CONTENT)) {
                array_pop($path);
            }
        } elseif ($element[Horde_ActiveSync_Wbxml::EN_TYPE] == Horde_ActiveSync_Wbxml::EN_TYPE_ENDTAG) {
            array_pop($path);
        } elseif ($element[Horde_ActiveSync_Wbxml::EN_TYPE] == Horde_ActiveSync_Wbxml::EN_TYPE_CONTENT) {
            $where = implode('/', $path);
            if (substr($where, -strlen('Policy/Provision:Status')) === 'Policy/Provision:Status') {
                $acks['acks'][] = (int)$element[Horde_ActiveSync_Wbxml::EN_CONTENT];
                $seen = true;
            } elseif (substr($where, -strlen('RemoteWipe/Provision:Status')) === 'RemoteWipe/Provision:Status') {
                $acks['wipe_acks'][] = (int)$element[Horde_ActiveSync_Wbxml::EN_CONTENT];
                $seen = true;
            }
        }
    }
    if ($seen) {
        file_put_contents(acks_file($device), json_encode($acks));
    }
}

if ($cmd === 'Provision' && $get_device !== '' && is_file(account_wipe_file($get_device))
    && isset($_SERVER['HTTP_MS_ASPROTOCOLVERSION']) && $_SERVER['HTTP_MS_ASPROTOCOLVERSION'] === '16.1') {
    account_only_wipe($state, $get_device, $input);
    exit;
}

$input_stream = fopen('php://memory', 'w+');
fwrite($input_stream, $input);
rewind($input_stream);
$request = new Horde_Controller_Request_Http();
$driver = new Latchkey_Test_Driver(array(
    'state' => $state,
    'connector' => new Horde_ActiveSync_Driver_MockConnector(),
    'imap' => null,
));
$driver->pass = $pass;
$driver->policyFile = "$state_dir/policy.json";
$server = new Horde_ActiveSync(
    $driver,
    new Horde_ActiveSync_Wbxml_Decoder($input_stream),
    new Horde_ActiveSync_Wbxml_Encoder(fopen('php://output', 'w+')),
    $state,
    $request
);
$server->setLogger(new Horde_ActiveSync_Log_Factory(array('type' => 'onefile', 'path' => "$state_dir/eas.log")));

try {
    if ($_SERVER['REQUEST_METHOD'] === 'OPTIONS') {
        $server->handleRequest('Options', null);
        if (is_file("$state_dir/max-version") && trim(file_get_contents("$state_dir/max-version")) === '16.1') {
            header('MS-ASProtocolVersions: 2.5,12.0,12.1,14.0,14.1,16.0,16.1');
        }
    } elseif ($_SERVER['REQUEST_METHOD'] === 'POST') {
        ob_start();
        $result = $server->handleRequest($cmd, null);
        $body = ob_get_clean();
        if ($result === false && $body === '') {
            http_response_code(449);
        } else {
            echo $body;
        }
    } else {
        http_response_code(405);
    }
} catch (Horde_Exception_AuthenticationFailure $e) {
    http_response_code(401);
} catch (Exception $e) {
    error_log('activesync front: ' . get_class($e) . ': ' . $e->getMessage());
    http_response_code(500);
}
