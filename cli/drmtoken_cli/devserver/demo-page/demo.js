// The demo page: a token from /demo/token, its Clear Key license URL given to Shaka Player,
// the player's state (video frames and audio bytes decoded), and when the service refuses,
// its code and reason; window.demo for the browser test. A renewing token's license is renewed by
// the page (Clear Key has no renewal message of its own): the first license's answer names its
// stream (Drm-Stream-Id) and interval (Drm-Renewal-Interval); every interval the page asks again with
// Drm-Renewal-Of, and stops the picture when the service refuses. ?renewEvery=N renews sooner (tests).
'use strict';

const params = new URLSearchParams(location.search);
const stateElement = document.getElementById('state');
window.demo = {
  frames: 0, audioBytes: 0, error: null, service: null, licenseUrl: null, claims: null,
  stream: null, renewals: 0, renewalRefused: null, stopped: false,
};

function show(text, kind) {
  stateElement.textContent = text;
  stateElement.className = kind || '';
}

// Times as dates, for people: the claims and records keep their numbers for the test. Token claims
// are epoch seconds; a record's time is epoch milliseconds (as getrecord gives it).
const SECOND_FIELDS = ['expiresAt', 'issuedAt', 'startTime', 'endTime'];
const MILLISECOND_FIELDS = ['time'];
function withDates(value) {
  return JSON.stringify(value, (name, field) => {
    if (typeof field !== 'number') return field;
    if (SECOND_FIELDS.includes(name)) return new Date(field * 1000).toISOString();
    if (MILLISECOND_FIELDS.includes(name)) return new Date(field).toISOString();
    return field;
  }, 2);
}

async function showRecords(cookie) {
  if (!cookie) return;
  const answer = await fetch('/demo/record?cookie=' + encodeURIComponent(cookie));
  document.getElementById('records').textContent = withDates((await answer.json()).records);
}

// What the service answered when the license request failed: Shaka's 6007 wraps the HTTP error
// (1001: uri, status, body). The body is our JSON {errorCode, errorMessage}, or nothing to show.
function serviceRefusal(error) {
  const http = (error.data || []).find((item) => item && item.code === 1001);
  if (!http) return null;
  try {
    const body = JSON.parse(http.data[2]);
    return {status: http.data[1], code: body.errorCode, message: body.errorMessage};
  } catch (ignored) {
    return {status: http.data[1], code: null, message: null};
  }
}

// The service's refusal of a renewal, as it said it: {status, code, message}.
async function refusalOf(answer) {
  try {
    const body = await answer.json();
    return {status: answer.status, code: body.errorCode, message: body.errorMessage};
  } catch (ignored) {
    return {status: answer.status, code: null, message: null};
  }
}

// Renew the stream's license every interval, as a player must; a refusal ends playback.
function renewEvery(seconds, licenseUrl, request, ticket, player, video) {
  const timer = setInterval(async () => {
    const answer = await fetch(licenseUrl, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'Drm-Renewal-Of': ticket},
      body: request,
    });
    if (answer.ok) {
      window.demo.renewals += 1;
      document.getElementById('renewals').textContent =
        window.demo.renewals + ' renewal(s), every ' + seconds + ' s, of stream ' + window.demo.stream;
      return;
    }
    clearInterval(timer);
    const refusal = await refusalOf(answer);
    window.demo.renewalRefused = refusal;
    video.pause();
    await player.unload();  // the license is not renewed: no more picture
    window.demo.stopped = true;
    show('renewal refused: the service answered ' + refusal.status + ' ' + refusal.code + ' "' +
      refusal.message + '"; playback stopped after ' + window.demo.renewals + ' renewal(s)', 'error');
  }, seconds * 1000);
}

async function main() {
  shaka.polyfill.installAll();
  let licenseUrl = params.get('license');  // a license URL to use again (the second play of a one-use token)
  let manifest = params.get('manifest') || 'media/manifest.mpd';
  if (!licenseUrl) {
    show('asking for a token');
    const asked = '/demo/token?case=' + encodeURIComponent(params.get('case') || 'good') +
      '&viewer=' + encodeURIComponent(params.get('viewer') || '');  // the viewer of a stream limit
    const answer = await (await fetch(asked)).json();
    licenseUrl = answer.licenseUrl;
    manifest = answer.manifest;
    window.demo.claims = answer.claims;
    document.getElementById('claims').textContent = withDates(answer.claims);
    if (answer.waitSeconds) {
      show('waiting ' + answer.waitSeconds + ' s for the token to expire');
      await new Promise((resolve) => setTimeout(resolve, answer.waitSeconds * 1000));
    }
  }
  window.demo.licenseUrl = licenseUrl;
  const again = document.getElementById('again');
  again.href = '?' + new URLSearchParams({license: licenseUrl, manifest: manifest});
  again.hidden = false;
  const cookie = window.demo.claims ? window.demo.claims.cookie : null;

  const video = document.getElementById('video');
  const player = new shaka.Player();
  window.player = player;  // for a person's console
  await player.attach(video);
  // The page owns the choice of license server: the manifest names none.
  player.configure({drm: {servers: {'org.w3.clearkey': licenseUrl}}});
  // The first license's request and answer: what a renewal sends again, and the stream it renews.
  const LICENSE = shaka.net.NetworkingEngine.RequestType.LICENSE;
  let licenseRequest = null;
  player.getNetworkingEngine().registerRequestFilter((type, request) => {
    if (type === LICENSE && licenseRequest === null) licenseRequest = request.body;
  });
  player.getNetworkingEngine().registerResponseFilter((type, response) => {
    const ticket = response.headers['drm-stream-id'];
    const interval = Number(response.headers['drm-renewal-interval'] || 0);
    if (type !== LICENSE || !ticket || window.demo.stream !== null) return;
    window.demo.stream = ticket.split('.')[1];  // its id, as records and the streams API show it
    if (interval > 0) {
      video.loop = true;  // the clip is short: loop it while the license is renewed
      renewEvery(Number(params.get('renewEvery')) || interval, licenseUrl, licenseRequest, ticket, player, video);
    }
  });
  const failed = (error) => {
    window.demo.error = error.code;
    const refusal = serviceRefusal(error);
    window.demo.service = refusal;
    const said = refusal && refusal.code !== null
      ? ': the service answered ' + refusal.status + ' ' + refusal.code + ' "' + refusal.message + '"'
      : refusal ? ': the service answered HTTP ' + refusal.status : '';
    show('player error ' + error.code + said, 'error');
    showRecords(cookie);
  };
  player.addEventListener('error', (event) => failed(event.detail));
  setInterval(() => {
    window.demo.frames = video.getVideoPlaybackQuality().totalVideoFrames;
    window.demo.audioBytes = video.webkitAudioDecodedByteCount || 0;
    if (window.demo.error === null && !window.demo.stopped && window.demo.frames > 0) {
      show('playing: ' + window.demo.frames + ' frames and ' + window.demo.audioBytes + ' bytes of sound decoded, ' +
        video.currentTime.toFixed(1) + ' s', 'playing');
    }
  }, 250);
  try {
    await player.load(manifest);
    await video.play();
    setTimeout(() => showRecords(cookie), 1000);
  } catch (error) {
    failed(error);
  }
}

main().catch((error) => {
  window.demo.error = 'demo';
  show('demo error: ' + error, 'error');
});
