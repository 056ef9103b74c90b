import { useState } from 'preact/hooks';
import { Session } from '../api/session';
import { errorText } from '../state/chat-actions';
import { useFocusOnMount } from './use-focus';

/** Sign in, or create an account (POST /v1/auth/register), then hand the session up. */
export function Login({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const first = useFocusOnMount<HTMLInputElement>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s =
        mode === 'login'
          ? await Session.login(username.trim(), password)
          : await Session.register(username.trim(), password, displayName.trim() || undefined);
      onSignedIn(s);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  const registering = mode === 'register';
  return (
    <main class="login">
      <form class="login__card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Switchboard</h1>
        <p class="muted">{registering ? 'Create an account' : 'Sign in to chat'}</p>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            required
            minLength={3}
            maxLength={32}
            pattern="[a-zA-Z0-9][a-zA-Z0-9_.\-]*"
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            ref={first}
          />
        </label>
        {registering && (
          <label>
            Display name <span class="muted">(optional)</span>
            <input
              name="displayName"
              maxLength={64}
              value={displayName}
              onInput={(e) => setDisplayName(e.currentTarget.value)}
            />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={registering ? 'new-password' : 'current-password'}
            required
            minLength={8}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn btn--primary" disabled={busy}>
          {registering ? 'Create account' : 'Sign in'}
        </button>
        <button
          type="button"
          class="btn btn--link"
          onClick={() => {
            setMode(registering ? 'login' : 'register');
            setError('');
          }}
        >
          {registering ? 'I have an account: sign in' : 'New here? Create an account'}
        </button>
      </form>
    </main>
  );
}
