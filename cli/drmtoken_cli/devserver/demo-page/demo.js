// The demo page: a token from /demo/token, its Clear Key license URL given to Shaka Player,
// the player's state (video frames and audio bytes decoded), and when the service refuses,
// its code and reason; window.demo for the browser test.
'use strict';

const params = new URLSearchParams(location.search);
const stateElement = document.getElementById('state');
window.demo = {frames: 0, audioBytes: 0, error: null, service: null, licenseUrl: null, claims: null};

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

async function main() {
  shaka.polyfill.installAll();
  let licenseUrl = params.get('license');  // a license URL to use again (the second play of a one-use token)
  let manifest = params.get('manifest') || 'media/manifest.mpd';
  if (!licenseUrl) {
    show('asking for a token');
    const answer = await (await fetch('/demo/token?case=' + encodeURIComponent(params.get('case') || 'good'))).json();
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
    if (window.demo.error === null && window.demo.frames > 0) {
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
